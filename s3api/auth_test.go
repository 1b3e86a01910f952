package s3api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/s3api"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestAuth(t *testing.T) {
	var skew time.Duration
	e := start(t, 1, s3api.Config{Credentials: s3api.StaticCredentials(map[string]string{testAK: testSecret}),
		Now: func() time.Time { return time.Now().Add(skew) }})
	ctx := context.Background()
	get := func(cl *s3.Client) error {
		_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("names/a b.txt")})
		return err
	}
	for _, tc := range []struct {
		name, ak, secret string
		skew             time.Duration
		code             string
	}{
		{"valid", testAK, testSecret, 0, ""},
		{"wrong secret", testAK, "wrong", 0, "SignatureDoesNotMatch"},
		{"unknown key id", "AKIDUNKNOWN", testSecret, 0, "InvalidAccessKeyId"},
		{"clock 16 min ahead", testAK, testSecret, 16 * time.Minute, "RequestTimeTooSkewed"},
		{"clock 16 min behind", testAK, testSecret, -16 * time.Minute, "RequestTimeTooSkewed"},
		{"clock 14 min ahead", testAK, testSecret, 14 * time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skew = tc.skew
			defer func() { skew = 0 }()
			if got := apiCode(get(e.client(0, tc.ak, tc.secret))); got != tc.code {
				t.Fatalf("got %q, want %q", got, tc.code)
			}
		})
	}
	code, _, body := e.raw(0, "GET", "/sample/hello.txt", nil)
	if code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("anonymous: %d %s", code, body)
	}
	code, _, body = e.raw(0, "GET", "/sample/hello.txt", map[string]string{"Authorization": "AWS " + testAK + ":c2ln"})
	if code != 403 || strings.Contains(body, testSecret) {
		t.Fatalf("sigv2: %d %s", code, body)
	}
	code, _, _ = e.raw(0, "GET", "/sample/hello.txt", map[string]string{"Authorization": "AWS4-HMAC-SHA256 garbage"})
	if code != 400 {
		t.Fatalf("malformed: %d", code)
	}
}

func TestPresigned(t *testing.T) {
	var skew time.Duration
	e := start(t, 1, s3api.Config{Credentials: s3api.StaticCredentials(map[string]string{testAK: testSecret}),
		Now: func() time.Time { return time.Now().Add(skew) }})
	ps := s3.NewPresignClient(e.client(0, testAK, testSecret))
	req, err := ps.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("names/x+y.txt")},
		s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, string(readAll(t, resp.Body))
	}
	if code, body := fetch(req.URL); code != 200 || body != "plus" {
		t.Fatalf("valid presigned URL: %d %q", code, body)
	}
	for name, u := range map[string]string{
		"tampered key":       strings.Replace(req.URL, "x%2By.txt", "a%20b.txt", 1),
		"tampered signature": req.URL[:len(req.URL)-4] + "0000",
		"tampered expiry":    strings.Replace(req.URL, "X-Amz-Expires=600", "X-Amz-Expires=6000", 1),
	} {
		if code, body := fetch(u); code != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
			t.Fatalf("%s: %d %s", name, code, body)
		}
	}
	skew = 11 * time.Minute
	if code, body := fetch(req.URL); code != 403 || !strings.Contains(body, "expired") {
		t.Fatalf("expired: %d %s", code, body)
	}
}

func TestCredentialsFileReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(file, []byte("# keys\nAK1 SECRET1\n\nAK2 SECRET2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := s3api.LoadCredentials(file)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := c.Secret("AK2"); !ok || s != "SECRET2" || c.Len() != 2 {
		t.Fatalf("loaded %d keys", c.Len())
	}
	for _, bad := range []string{"AK1\n", "AK1 S1 extra\n", "AK1 S1\nAK1 S2\n"} {
		if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		err := c.Reload()
		if err == nil || strings.Contains(err.Error(), "S1") {
			t.Fatalf("%q: reload error %v (must fail and not echo a secret)", bad, err)
		}
		if c.Len() != 2 {
			t.Fatalf("a failed reload changed the keys")
		}
	}
	if err := os.WriteFile(file, []byte("AK3 SECRET3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Secret("AK1"); ok || c.Len() != 1 {
		t.Fatal("reload kept a removed key")
	}
}

func TestProxyAndRedirect(t *testing.T) {
	for _, redirect := range []bool{false, true} {
		e := start(t, 3, s3api.Config{Redirect: redirect})
		files := testFiles()
		cl := e.client(0, "x", "y")
		for key, want := range files {
			out, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("redirect=%v %s: %v", redirect, key, err)
			}
			mustEqual(t, key, readAll(t, out.Body), want)
		}
		var redirected, proxied int
		for key := range files {
			code, hdr, _ := e.raw(0, "GET", "/sample/"+strings.ReplaceAll(strings.ReplaceAll(key, "%", "%25"), " ", "%20"), map[string]string{"Range": "bytes=0-0"})
			switch {
			case code == http.StatusTemporaryRedirect && strings.Contains(hdr.Get("Location"), "/api/v1/data/sample/"):
				redirected++
			case code == http.StatusPartialContent || (code == 200 && len(files[key]) == 0) || code == 416:
				proxied++
			default:
				t.Fatalf("redirect=%v %s: %d", redirect, key, code)
			}
		}
		if redirect != (redirected > 0) || proxied == 0 {
			t.Fatalf("redirect=%v: %d redirected, %d served", redirect, redirected, proxied)
		}
		// The owners served the non-owned keys from their caches.
		var hits int64
		for _, w := range e.c.Workers[1:] {
			hits += w.Worker.Stats().BytesServed
		}
		if hits == 0 {
			t.Fatalf("redirect=%v: no other worker served anything", redirect)
		}
	}
}
