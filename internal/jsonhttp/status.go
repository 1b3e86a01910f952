package jsonhttp

import "net/http"

// StatusWriter records the status code of an answer, for metrics and
// logs around a handler.
type StatusWriter struct {
	http.ResponseWriter
	code int
}

// Code is the status of the answer: 200 when the handler wrote nothing
// (net/http answers 200 then).
func (w *StatusWriter) Code() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code // 1xx are interim answers
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (flushes of forwarded answers,
// deadlines) reach the server's writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
