package s3api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 4, as S3 verifies it:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// MaxClockSkew is how far a signed request's time may be from the
	// server's clock.
	MaxClockSkew = 15 * time.Minute
	// maxPresignExpiry is the longest X-Amz-Expires S3 accepts (7 days).
	maxPresignExpiry = 7 * 24 * 60 * 60
)

// signature is what a request says about its signature.
type signature struct {
	accessKey, date, region, service string // the credential scope
	signedHeaders                    []string
	signature                        string
	amzDate                          time.Time
	amzDateRaw                       string
	payloadHash                      string
	presigned                        bool
	expires                          int64
}

// authenticate verifies the request's signature against creds. With nil
// creds every request is let through, signed or not (anonymous reads).
func authenticate(r *http.Request, creds *Credentials, now time.Time) *Error {
	if creds == nil {
		return nil
	}
	authz := r.Header.Get("Authorization")
	presigned := r.URL.Query().Has("X-Amz-Signature") || r.URL.Query().Has("X-Amz-Credential")
	var sig signature
	var e *Error
	switch {
	case authz != "" && presigned:
		return errorf("InvalidArgument", "only one authentication mechanism is allowed")
	case strings.HasPrefix(authz, sigAlgorithm+" "):
		sig, e = parseHeaderSignature(r, authz)
	case authz != "":
		return errorf("AccessDenied", "only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted")
	case presigned:
		sig, e = parsePresigned(r)
	default:
		return errorf("AccessDenied", "anonymous access is not allowed: sign the request (AWS Signature Version 4)")
	}
	if e != nil {
		return e
	}
	if e := checkTime(sig, now); e != nil {
		return e
	}
	secret, ok := creds.Secret(sig.accessKey)
	if !ok {
		return errorf("InvalidAccessKeyId", "the access key id you provided does not exist in our records")
	}
	want := sign(secret, sig, stringToSign(r, sig))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig.signature))) {
		return errorf("SignatureDoesNotMatch", "the request signature we calculated does not match the signature you provided; check your secret key and signing method")
	}
	return nil
}

// checkTime enforces the clock-skew window, and a presigned URL's expiry.
func checkTime(sig signature, now time.Time) *Error {
	d := now.Sub(sig.amzDate)
	if sig.presigned {
		switch {
		case d < -MaxClockSkew:
			return errorf("AccessDenied", "request is not valid yet")
		case d > time.Duration(sig.expires)*time.Second:
			return errorf("AccessDenied", "request has expired")
		}
		return nil
	}
	if d > MaxClockSkew || d < -MaxClockSkew {
		return errorf("RequestTimeTooSkewed", "the difference between the request time and the server's time is too large")
	}
	return nil
}

// parseCredential parses "AK/20260101/us-east-1/s3/aws4_request".
func parseCredential(sig *signature, cred string) bool {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" || len(parts[1]) != 8 || parts[3] != "s3" || parts[4] != "aws4_request" {
		return false
	}
	sig.accessKey, sig.date, sig.region, sig.service = parts[0], parts[1], parts[2], parts[3]
	return true
}

// parseSignedHeaders parses "host;x-amz-date", which must name host.
func parseSignedHeaders(sig *signature, s string) bool {
	sig.signedHeaders = strings.Split(s, ";")
	for _, h := range sig.signedHeaders {
		if h == "host" {
			return true
		}
	}
	return false
}

func parseHeaderSignature(r *http.Request, authz string) (signature, *Error) {
	sig := signature{}
	malformed := errorf("AuthorizationHeaderMalformed", "the authorization header is malformed")
	fields := map[string]string{}
	for f := range strings.SplitSeq(strings.TrimPrefix(authz, sigAlgorithm+" "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return sig, malformed
		}
		fields[k] = v
	}
	if !parseCredential(&sig, fields["Credential"]) || !parseSignedHeaders(&sig, fields["SignedHeaders"]) || fields["Signature"] == "" {
		return sig, malformed
	}
	sig.signature = fields["Signature"]
	sig.amzDateRaw = r.Header.Get("X-Amz-Date")
	if sig.amzDateRaw == "" {
		t, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			return sig, errorf("AccessDenied", "the request has no valid x-amz-date or date header")
		}
		sig.amzDateRaw = t.UTC().Format(amzDateFormat)
	}
	if e := parseAmzDate(&sig); e != nil {
		return sig, e
	}
	sig.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	if sig.payloadHash == "" {
		sig.payloadHash = emptySHA256 // no body is read; a body's hash must be sent
	}
	return sig, nil
}

func parseAmzDate(sig *signature) *Error {
	t, err := time.Parse(amzDateFormat, sig.amzDateRaw)
	if err != nil {
		return errorf("AccessDenied", "x-amz-date is not in the form 20060102T150405Z")
	}
	if sig.amzDateRaw[:8] != sig.date {
		return errorf("SignatureDoesNotMatch", "the credential's date is not the request's date")
	}
	sig.amzDate = t
	return nil
}

func parsePresigned(r *http.Request) (signature, *Error) {
	q := r.URL.Query()
	sig := signature{presigned: true}
	bad := func(msg string) (signature, *Error) {
		return sig, errorf("AuthorizationQueryParametersError", msg)
	}
	if q.Get("X-Amz-Algorithm") != sigAlgorithm {
		return bad("X-Amz-Algorithm must be " + sigAlgorithm)
	}
	if !parseCredential(&sig, q.Get("X-Amz-Credential")) {
		return bad("X-Amz-Credential is malformed")
	}
	if !parseSignedHeaders(&sig, q.Get("X-Amz-SignedHeaders")) {
		return bad("X-Amz-SignedHeaders must name host")
	}
	if sig.signature = q.Get("X-Amz-Signature"); sig.signature == "" {
		return bad("X-Amz-Signature is missing")
	}
	exp, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || exp < 1 || exp > maxPresignExpiry {
		return bad("X-Amz-Expires must be 1 to 604800 seconds")
	}
	sig.expires = exp
	sig.amzDateRaw = q.Get("X-Amz-Date")
	if e := parseAmzDate(&sig); e != nil {
		return sig, e
	}
	sig.payloadHash = unsignedPayload
	if h := q.Get("X-Amz-Content-Sha256"); h != "" {
		sig.payloadHash = h
	}
	return sig, nil
}

// stringToSign builds the canonical request and the string to sign.
func stringToSign(r *http.Request, sig signature) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.EscapedPath()))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery, sig.presigned))
	b.WriteByte('\n')
	for _, h := range sig.signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(sig.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(sig.payloadHash)
	sum := sha256.Sum256([]byte(b.String()))
	scope := sig.date + "/" + sig.region + "/" + sig.service + "/aws4_request"
	return sigAlgorithm + "\n" + sig.amzDateRaw + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// sign returns the hex signature of the string to sign.
func sign(secret string, sig signature, sts string) string {
	k := hmacSHA256([]byte("AWS4"+secret), sig.date)
	k = hmacSHA256(k, sig.region)
	k = hmacSHA256(k, sig.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, sts))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// headerValue is a signed header's canonical value: trimmed, inner runs of
// spaces made one, several values joined by commas.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	default:
		vals = slices.Clone(r.Header.Values(name))
		if name == "content-length" && len(vals) == 0 && r.ContentLength >= 0 {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// canonicalURI encodes an escaped path as SigV4 wants it for S3: once,
// every byte but the unreserved ones and "/" percent-encoded (an encoded
// slash stays encoded).
func canonicalURI(escaped string) string {
	if escaped == "" {
		return "/"
	}
	var b strings.Builder
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c == '%' && i+2 < len(escaped) {
			if v, err := strconv.ParseUint(escaped[i+1:i+3], 16, 8); err == nil {
				encodeByte(&b, byte(v))
				i += 2
				continue
			}
		}
		if c == '/' {
			b.WriteByte(c)
			continue
		}
		encodeByte(&b, c)
	}
	return b.String()
}

// canonicalQuery sorts and encodes the query; a presigned request's
// X-Amz-Signature is left out.
func canonicalQuery(raw string, presigned bool) string {
	type kv struct{ k, v string }
	var pairs []kv
	for p := range strings.SplitSeq(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || (presigned && k == "X-Amz-Signature") {
			continue
		}
		pairs = append(pairs, kv{uriEncode(k), uriEncode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode encodes every byte but A-Z a-z 0-9 - _ . ~.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		encodeByte(&b, s[i])
	}
	return b.String()
}

func encodeByte(b *strings.Builder, c byte) {
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
		b.WriteByte(c)
		return
	}
	const hexUpper = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hexUpper[c>>4])
	b.WriteByte(hexUpper[c&15])
}
