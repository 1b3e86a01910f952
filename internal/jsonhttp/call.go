package jsonhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
)

// Bounds of what the calling side reads.
const (
	// DefaultMaxAnswer bounds a 2xx answer when a call sets no MaxAnswer.
	DefaultMaxAnswer = 64 << 20
	// MaxErrorBody bounds what is read of an answer other than 2xx (and
	// what is drained of an answer after its value, so that the connection
	// can be used again).
	MaxErrorBody = 64 << 10
	// maxErrorText bounds the text kept of an error answer that is not the
	// JSON error body.
	maxErrorText = 512
)

// ErrAnswerTooLarge is a 2xx answer longer than the call's bound.
var ErrAnswerTooLarge = errors.New("jsonhttp: the answer is larger than allowed")

// Error is an answer with a status other than 2xx.
type Error struct {
	// StatusCode is the answer's status.
	StatusCode int
	// Body is the decoded error body; Body.Status is the server's reason,
	// "" when the answer was not the JSON error body.
	Body api.Error
	// Text is the answer's body as text when it was not the JSON error
	// body, trimmed; "" when it was, when it was empty, or when it was
	// too long to be a message (512 bytes or more).
	Text string
}

// Reason is the server's reason: the error body's status, or else the
// answer's text ("" when there was neither).
func (e *Error) Reason() string {
	if e.Body.Status != "" {
		return e.Body.Status
	}
	return e.Text
}

// Error returns "<code> <status text>: <reason>".
func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if r := e.Reason(); r != "" {
		s += ": " + r
	}
	return s
}

// StatusOf returns the status code of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// Request is one JSON call.
type Request struct {
	Method string
	URL    string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// In, when not nil, is sent JSON-encoded as the body.
	In any
	// Out, when not nil, receives the decoded 2xx answer (a 204 leaves it
	// unchanged).
	Out any
	// Timeout, when positive, bounds the whole call (the request and the
	// reading of its answer) with a context deadline; the context passed
	// to Do bounds it in any case.
	Timeout time.Duration
	// MaxAnswer bounds a 2xx answer; DefaultMaxAnswer when 0.
	MaxAnswer int64
}

// Do sends r with hc and reads its answer: a 2xx into r.Out, anything else
// into an *Error. A request that got no answer returns hc's error.
func Do(ctx context.Context, hc *http.Client, r Request) error {
	var body []byte
	if r.In != nil {
		var err error
		if body, err = json.Marshal(r.In); err != nil {
			return fmt.Errorf("jsonhttp: encode %s %s: %w", r.Method, r.URL, err)
		}
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	req, err := NewRequest(ctx, r.Method, r.URL, body, r.Token)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	return ReadAnswer(resp, r.Out, r.MaxAnswer)
}

// NewRequest builds a JSON request: body (already encoded; none when nil),
// "Accept: application/json", the Content-Type of a body, and the bearer
// token when one is given.
func NewRequest(ctx context.Context, method, url string, body []byte, token string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("jsonhttp: %s %s: %w", method, url, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// ReadAnswer reads an answer and closes its body. A 2xx answer is decoded
// into out (when not nil and the answer is not 204), reading at most
// maxAnswer bytes (DefaultMaxAnswer when 0; ErrAnswerTooLarge beyond); a
// body that is not the expected JSON returns the decoder's error. Any other
// status returns an *Error decoded from at most MaxErrorBody bytes.
func ReadAnswer(resp *http.Response, out any, maxAnswer int64) error {
	if resp.StatusCode/100 != 2 {
		return ReadError(resp)
	}
	defer Drain(resp)
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if maxAnswer <= 0 {
		maxAnswer = DefaultMaxAnswer
	}
	lr := &limitReader{r: resp.Body, n: maxAnswer}
	if err := json.NewDecoder(lr).Decode(out); err != nil {
		if lr.over {
			return fmt.Errorf("%w (%d bytes)", ErrAnswerTooLarge, maxAnswer)
		}
		return err
	}
	return nil
}

// Drain reads what is left of an answer (up to MaxErrorBody, so that the
// connection can carry the next request) and closes it.
func Drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
	resp.Body.Close()
}

// ReadError reads an answer's body as the error body, bounded at
// MaxErrorBody, closes it and returns the *Error of the answer's status
// (whatever the status is: the caller decides that it is an error).
func ReadError(resp *http.Response) *Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	resp.Body.Close()
	e := &Error{StatusCode: resp.StatusCode}
	if json.Unmarshal(raw, &e.Body) == nil && e.Body.Status != "" {
		return e
	}
	e.Body = api.Error{}
	if text := strings.TrimSpace(string(raw)); len(text) < maxErrorText {
		e.Text = text
	}
	return e
}

// limitReader reads at most n bytes of r, then fails with
// ErrAnswerTooLarge unless r ends there.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n == 0 {
			return 0, err // the end (or a failure) right at the bound
		}
		l.over = true
		return 0, ErrAnswerTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
