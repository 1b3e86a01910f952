package jsonhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

type payload struct {
	Name  string `json:"name"`
	Count int    `json:"count,omitempty"`
}

// TestDo calls a real loopback server that answers as each case says and
// checks what Do returns and what the server saw.
func TestDo(t *testing.T) {
	type seen struct{ method, auth, ctype, accept, body string }
	cases := []struct {
		name      string
		req       Request
		handler   http.HandlerFunc
		wantOut   payload
		wantCode  int // of an *Error; 0 when none
		wantBody  api.Error
		wantText  string
		wantErr   error  // matched with errors.Is
		wantErrIn string // in err.Error()
		wantSeen  seen
	}{
		{
			name: "2xx decoded, token and body sent",
			req:  Request{Method: "POST", Token: "tok", In: payload{Name: "in"}},
			handler: func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, 200, payload{Name: "out", Count: 2})
			},
			wantOut:  payload{Name: "out", Count: 2},
			wantSeen: seen{"POST", "Bearer tok", "application/json", "application/json", `{"name":"in"}`},
		},
		{
			name:     "GET without token or body",
			req:      Request{Method: "GET"},
			handler:  func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, payload{Name: "x"}) },
			wantOut:  payload{Name: "x"},
			wantSeen: seen{"GET", "", "", "application/json", ""},
		},
		{
			name:     "204 leaves out unchanged",
			req:      Request{Method: "GET"},
			handler:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
		{
			name: "error body decoded",
			req:  Request{Method: "POST", In: payload{}},
			handler: func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, 409, api.Error{Status: "exists", ID: "j1", State: "RUNNING", Alias: "a"})
			},
			wantCode: 409, wantBody: api.Error{Status: "exists", ID: "j1", State: "RUNNING", Alias: "a"},
			wantErrIn: "409 Conflict: exists",
			wantSeen:  seen{"POST", "", "application/json", "application/json", `{"name":""}`},
		},
		{
			name:     "WriteError",
			req:      Request{Method: "GET"},
			handler:  func(w http.ResponseWriter, r *http.Request) { WriteError(w, 503, "no raft leader") },
			wantCode: 503, wantBody: api.Error{Status: "no raft leader"}, wantErrIn: "503 Service Unavailable: no raft leader",
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
		{
			name: "plain text error",
			req:  Request{Method: "GET"},
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "bad gateway, really", http.StatusBadGateway)
			},
			wantCode: 502, wantText: "bad gateway, really", wantErrIn: "502 Bad Gateway: bad gateway, really",
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
		{
			name: "long text error: status only",
			req:  Request{Method: "GET"},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(500)
				_, _ = io.WriteString(w, strings.Repeat("x", 10_000))
			},
			wantCode: 500, wantErrIn: "500 Internal Server Error",
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
		{
			name: "huge error body is read to the bound only",
			req:  Request{Method: "GET"},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"status":"`+strings.Repeat("y", 2*MaxErrorBody)+`"}`)
			},
			wantCode: 400, wantErrIn: "400 Bad Request",
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
		{
			name: "answer over the bound",
			req:  Request{Method: "GET", MaxAnswer: 64},
			handler: func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, 200, payload{Name: strings.Repeat("z", 100)})
			},
			wantErr:  ErrAnswerTooLarge,
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
		{
			name: "answer exactly at the bound",
			req:  Request{Method: "GET", MaxAnswer: int64(len(`{"name":"abc"}` + "\n"))},
			handler: func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, 200, payload{Name: "abc"})
			},
			wantOut:  payload{Name: "abc"},
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
		{
			name: "2xx that is not JSON",
			req:  Request{Method: "GET"},
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "<html>")
			},
			wantErrIn: "invalid character",
			wantSeen:  seen{method: "GET", accept: "application/json"},
		},
		{
			name: "timeout bounds the call",
			req:  Request{Method: "GET", Timeout: 50 * time.Millisecond},
			handler: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			wantErr:  context.DeadlineExceeded,
			wantSeen: seen{method: "GET", accept: "application/json"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got seen
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = seen{r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Header.Get("Accept"), string(b)}
				tc.handler(w, r)
			}))
			req := tc.req
			req.URL = srv.URL + "/x"
			var out payload
			req.Out = &out
			err := Do(context.Background(), srv.Client(), req)
			srv.Close() // waits for the handler: got is written
			if got != tc.wantSeen {
				t.Errorf("server saw %+v, want %+v", got, tc.wantSeen)
			}
			if out != tc.wantOut {
				t.Errorf("out = %+v, want %+v", out, tc.wantOut)
			}
			var e *Error
			isErr := errors.As(err, &e)
			switch {
			case tc.wantCode != 0:
				if !isErr || e.StatusCode != tc.wantCode || e.Body != tc.wantBody || e.Text != tc.wantText {
					t.Fatalf("err = %#v, want code %d body %+v text %q", err, tc.wantCode, tc.wantBody, tc.wantText)
				}
				if StatusOf(err) != tc.wantCode {
					t.Errorf("StatusOf = %d", StatusOf(err))
				}
			case isErr:
				t.Fatalf("unexpected *Error %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErrIn != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrIn)) {
				t.Errorf("err = %v, want it to say %q", err, tc.wantErrIn)
			}
			if tc.wantErr == nil && tc.wantErrIn == "" && tc.wantCode == 0 && err != nil {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestDoNoAnswer: a request that reaches nobody returns the transport's
// error, not an *Error.
func TestDoNoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := Do(context.Background(), http.DefaultClient, Request{Method: "GET", URL: url})
	if err == nil || StatusOf(err) != 0 {
		t.Fatalf("err = %v", err)
	}
}

// TestReadBody serves ReadBody on a real loopback server and checks the
// status and the exact bytes of each answer.
func TestReadBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p payload
		if !ReadBody(w, r, &p) {
			return
		}
		WriteJSON(w, 200, p)
	}))
	defer srv.Close()
	cases := []struct {
		name, body string
		code       int
		answer     string
	}{
		{"ok", `{"name":"a","count":1}`, 200, `{"name":"a","count":1}`},
		{"ok with white space after", "{\"name\":\"a\"}\n\t ", 200, `{"name":"a"}`},
		{"empty", ``, 400, `{"status":"a JSON request body is required"}`},
		{"unknown field", `{"name":"a","x":1}`, 400, `{"status":"unknown field \"x\""}`},
		{"case differs", `{"Name":"a"}`, 400, `{"status":"unknown field \"Name\" (field names are case-sensitive)"}`},
		{"twice", `{"name":"a","name":"b"}`, 400, `{"status":"field \"name\" is given twice"}`},
		{"trailing data", `{"name":"a"} {}`, 400, `{"status":"unexpected data after the JSON object"}`},
		{"wrong type", `{"count":"1"}`, 400, `{"status":"field \"count\" must be a number, not string"}`},
		{"not an object", `[1]`, 400, `{"status":"the body must be a JSON object, not array"}`},
		{"ends early", `{"name":`, 400, `{"status":"malformed JSON: the body ends early"}`},
		{"too large", `{"name":"` + strings.Repeat("a", MaxBody) + `"}`, 413, `{"status":"request body is larger than 1048576 bytes"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || strings.TrimSpace(string(b)) != tc.answer {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, b, tc.code, tc.answer)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}
