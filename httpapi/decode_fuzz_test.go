package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/alluvium/alluvium/api"
)

// bodyTypes are the request types every decodeBody call of the API decodes
// into; a new request type belongs here too.
var bodyTypes = []func() any{
	func() any { return new(api.Mount) },
	func() any { return new(api.PathRequest) },
	func() any { return new(api.QuotaRequest) },
	func() any { return new(api.TTL) },
	func() any { return new(api.Priority) },
	func() any { return new(api.FilterRequest) },
	func() any { return new(api.LoadRequest) },
	func() any { return new(api.FreeRequest) },
	func() any { return new(api.RebalanceRequest) },
	func() any { return new(api.JobSelector) },
	func() any { return new(api.FileIndexRequest) },
	func() any { return new(api.CacheOp) },
	func() any { return new(api.JoinRequest) },
	func() any { return new(api.WorkerRegistration) },
	func() any { return new(api.Heartbeat) },
}

// decodeRaw runs decodeBody on a request carrying body.
func decodeRaw(body []byte, v any) error {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/x", bytes.NewReader(body))
	return decodeBody(r, v)
}

// FuzzDecodeBody feeds arbitrary bodies to the strict decoder of every
// request type. A rejected body must map to a 4xx (a 5xx would blame the
// server for the client's bytes); an accepted one must re-encode to a body
// that the same strict decoder accepts again and that encodes to the same
// bytes, so a client that echoes what it read is never refused.
func FuzzDecodeBody(f *testing.F) {
	seeds := []struct {
		kind int
		body string
	}{
		{0, `{"path":"/data","ufs":"file:///srv/data","options":{"s3.endpoint":"http://x"}}`},
		{0, `{"path":"/data","ufs":"s3://b/p","options":null}`},
		{1, `{"path":"/data"}`},
		{1, `{"Path":"/data"}`},
		{1, `{"path":"/a","path":"/b"}`},
		{2, `{"path":"/data","quota":"1.5GiB"}`},
		{2, `{"path":"/data","quota":1073741824}`},
		{2, `{"path":"/data","quota":"1e400GiB"}`},
		{2, `{"path":"/data","quota":-1}`},
		{3, `{"path":"/data","ttl":"1h30m"}`},
		{3, `{"path":"/data","ttl":90}`},
		{3, `{"path":"/data","ttl":null}`},
		{4, `{"path":"/data","priority":"HIGH"}`},
		{5, `{"rule":"maxAge","pattern":".*\\.tmp$","time":"10m","updateDefault":true}`},
		{6, `{"paths":["/a","/b"],"alias":"x","options":{"batchSize":10,"replicas":2,"bandwidth":"10MiB","verify":true}}`},
		{6, `{"paths":[],"options":{}}`},
		{6, `{"paths":[null],"alias":"a"}`},
		{6, `{"index":"/idx.txt"} {}`},
		{7, `{"index":"/idx.txt","options":{"force":true,"Force":false}}`},
		{8, `{"target":"worker-1","options":{"loadBandwidth":"1GB","pruneBandwidth":0,"skipPrune":true}}`},
		{9, `{"alias":"a"}`},
		{10, `{"entries":[{"path":"/a","size":3,"workers":["w1"]}],"paths":["/b"]}`},
		{11, `{"op":"clear"}`},
		{11, `[]`},
		{12, `{"id":"c4","raftAddress":"127.0.0.1:1","httpAddress":"127.0.0.1:2"}`},
		{13, `{"id":"worker-1","address":"h:1","capacityBytes":1024,"startTime":"2026-01-01T00:00:00Z"}`},
		{14, `{"id":"worker-1","usedBytes":1,"pages":1,"quotaUsage":{"/a":1},"policyVersion":3,"clearStale":{"worker":"w","running":true}}`},
		{14, `{"id":"worker-1","quotaUsage":{"/a":1,"/a":2}}`},
		{0, ``},
		{0, `   `},
		{0, `{`},
		{0, "{\"path\":\"\xff\"}"},
	}
	for _, s := range seeds {
		f.Add(uint8(s.kind), []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		newV := bodyTypes[int(kind)%len(bodyTypes)]
		v := newV()
		if err := decodeRaw(body, v); err != nil {
			if code, _ := statusOf(err); code < 400 || code >= 500 {
				t.Fatalf("%T %q: rejected with %d (%v), want a 4xx", v, body, code, err)
			}
			return
		}
		b1, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%T %q: accepted but does not encode: %v", v, body, err)
		}
		v2 := newV()
		if err := decodeRaw(b1, v2); err != nil {
			t.Fatalf("%T %q: accepted, but its encoding %s is refused: %v", v, body, b1, err)
		}
		b2, err := json.Marshal(v2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("%T %q: encoding is not stable: %s then %s", v, body, b1, b2)
		}
		v3 := newV()
		if err := decodeRaw(b2, v3); err != nil || !reflect.DeepEqual(v2, v3) {
			t.Fatalf("%T %q: decoding is not stable: %+v then %+v (%v)", v, body, v2, v3, err)
		}
	})
}
