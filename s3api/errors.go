package s3api

import (
	"encoding/xml"
	"net/http"
	"strconv"
)

// Error is an S3 error answer: its code, status and message. Messages never
// hold a secret key or a signature.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorf returns the S3 error code with its usual status.
func errorf(code, msg string) *Error {
	return &Error{Code: code, Status: statusOf(code), Message: msg}
}

// statusOf is the HTTP status S3 answers with each error code.
func statusOf(code string) int {
	switch code {
	case "NoSuchBucket", "NoSuchKey":
		return http.StatusNotFound
	case "InvalidRange":
		return http.StatusRequestedRangeNotSatisfiable
	case "PreconditionFailed":
		return http.StatusPreconditionFailed
	case "AccessDenied", "SignatureDoesNotMatch", "RequestTimeTooSkewed", "InvalidAccessKeyId":
		return http.StatusForbidden
	case "InvalidArgument", "AuthorizationHeaderMalformed", "AuthorizationQueryParametersError", "InvalidRequest", "InvalidBucketName":
		return http.StatusBadRequest
	case "MethodNotAllowed":
		return http.StatusMethodNotAllowed
	case "NotImplemented":
		return http.StatusNotImplemented
	case "ServiceUnavailable", "SlowDown":
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// writeError answers e as S3 does: the status and, except to HEAD, the XML
// body. resource is the request's path.
func writeError(rw http.ResponseWriter, r *http.Request, e *Error) {
	h := rw.Header()
	for _, k := range []string{"Content-Length", "Content-Range", "ETag", "Last-Modified", "Accept-Ranges", "Content-Disposition", "Content-Encoding", "Content-Language", "Cache-Control", "Expires"} {
		h.Del(k)
	}
	body, _ := xml.Marshal(errorBody{Code: e.Code, Message: e.Message, Resource: r.URL.Path, RequestID: h.Get("X-Amz-Request-Id")})
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		rw.WriteHeader(e.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	rw.WriteHeader(e.Status)
	_, _ = rw.Write(body)
}

// writeXML answers 200 with v as an XML document.
func writeXML(rw http.ResponseWriter, r *http.Request, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		writeError(rw, r, errorf("InternalError", "encode the answer: "+err.Error()))
		return
	}
	body = append([]byte(xml.Header), body...)
	rw.Header().Set("Content-Type", "application/xml")
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rw.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = rw.Write(body)
	}
}
