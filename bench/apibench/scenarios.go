package main

// The requests of each scenario, built so that both systems replicate
// commands of the same size: an alluvium SetQuota command whose raft
// encoding is valueSize bytes, and an etcd put of a valueSize-byte value.

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/alluvium/alluvium/fsm"
)

// benchMount is the mount point the quota paths lie under.
const benchMount = "/bench"

// quotaBase is the first quota value; the value written by request seq is
// quotaBase + seq mod quotaBase, so every request changes the state and
// its encoding keeps one size.
const quotaBase = 1 << 30

// pathFiller makes the quota paths look like real dataset directories.
const pathFiller = "datasets/imagenet-21k/train/images/shard-"

// workload holds the per-connection keys of both systems.
type workload struct {
	valueSize  int
	quotaPaths []string // per connection
	etcdKeys   []string // per connection, base64
	filler     []byte   // the constant part of etcd values
}

// newWorkload prepares keys for up to conns connections. It pads the quota
// paths so that a SetQuota command encodes to valueSize bytes in the raft
// log, as an etcd value of valueSize bytes.
func newWorkload(conns, valueSize int) (*workload, error) {
	if valueSize < 64 || valueSize > 4000 {
		return nil, fmt.Errorf("-value-size %d: want 64 to 4000", valueSize)
	}
	mk := func(pad, conn int) string {
		f := strings.Repeat(pathFiller, pad/len(pathFiller)+1)[:pad]
		return fmt.Sprintf("%s/%s-c%04d", benchMount, f, conn)
	}
	pad := -1
	for p := 0; p < valueSize; p++ {
		b, err := fsm.Encode(&fsm.SetQuota{Path: mk(p, 0), Bytes: quotaBase})
		if err != nil {
			return nil, err
		}
		if len(b) == valueSize {
			pad = p
			break
		}
	}
	if pad < 0 {
		return nil, fmt.Errorf("no quota path makes a %d-byte command", valueSize)
	}
	w := &workload{valueSize: valueSize, filler: make([]byte, valueSize)}
	for i := range w.filler {
		w.filler[i] = byte('a' + i%26)
	}
	for i := range conns {
		w.quotaPaths = append(w.quotaPaths, mk(pad, i))
		w.etcdKeys = append(w.etcdKeys, b64(fmt.Sprintf("bench/k%04d", i)))
	}
	return w, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// appendRequest appends an HTTP/1.1 request with a JSON body.
func appendRequest(buf []byte, method, target, host string, body []byte) []byte {
	buf = append(buf, method...)
	buf = append(buf, ' ')
	buf = append(buf, target...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	if body == nil {
		return append(buf, "\r\n\r\n"...)
	}
	buf = append(buf, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, body...)
}

// alluviumPut is POST /api/v1/quota {"path": <the connection's path>,
// "quota": <a new value each time>}.
func (w *workload) alluviumPut(addr string) scenario {
	return scenario{system: "alluvium", name: "POST /api/v1/quota", addr: addr,
		build: func(buf []byte, conn int, seq uint64) []byte {
			var body [512]byte
			b := append(body[:0], `{"path":"`...)
			b = append(b, w.quotaPaths[conn]...)
			b = append(b, `","quota":`...)
			b = strconv.AppendUint(b, quotaBase+seq%quotaBase, 10)
			b = append(b, '}')
			return appendRequest(buf, "POST", "/api/v1/quota", addr, b)
		}}
}

// alluviumGet is GET /api/v1/quota?path=<the connection's path>, with
// &stale=true when stale.
func (w *workload) alluviumGet(addr string, stale bool) scenario {
	name := "GET /api/v1/quota"
	targets := make([]string, len(w.quotaPaths))
	for i, p := range w.quotaPaths {
		targets[i] = "/api/v1/quota?path=" + url.QueryEscape(p)
		if stale {
			targets[i] += "&stale=true"
		}
	}
	if stale {
		name += " stale"
	}
	return scenario{system: "alluvium", name: name, addr: addr,
		build: func(buf []byte, conn int, _ uint64) []byte {
			return appendRequest(buf, "GET", targets[conn], addr, nil)
		}}
}

// etcdPut is POST /v3/kv/put {"key", "value"} through the v3 JSON gateway,
// both base64 as it requires; the value's first 8 bytes are the sequence
// number so every put writes new data.
func (w *workload) etcdPut(addr string) scenario {
	return scenario{system: "etcd", name: "POST /v3/kv/put", addr: addr,
		build: func(buf []byte, conn int, seq uint64) []byte {
			var val [4096]byte
			v := append(val[:0], w.filler...)
			binary.BigEndian.PutUint64(v, seq)
			var body [6000]byte
			b := append(body[:0], `{"key":"`...)
			b = append(b, w.etcdKeys[conn]...)
			b = append(b, `","value":"`...)
			b = base64.StdEncoding.AppendEncode(b, v)
			b = append(b, `"}`...)
			return appendRequest(buf, "POST", "/v3/kv/put", addr, b)
		}}
}

// etcdGet is POST /v3/kv/range {"key"} (linearizable), or with
// "serializable": true (the member's own view, like alluvium's stale).
func (w *workload) etcdGet(addr string, serializable bool) scenario {
	name := "POST /v3/kv/range"
	bodies := make([][]byte, len(w.etcdKeys))
	for i, k := range w.etcdKeys {
		s := `{"key":"` + k + `"}`
		if serializable {
			s = `{"key":"` + k + `","serializable":true}`
		}
		bodies[i] = []byte(s)
	}
	if serializable {
		name += " serializable"
	}
	return scenario{system: "etcd", name: name, addr: addr,
		build: func(buf []byte, conn int, _ uint64) []byte {
			return appendRequest(buf, "POST", "/v3/kv/range", addr, bodies[conn])
		}}
}
