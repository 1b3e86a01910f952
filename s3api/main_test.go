package s3api_test

import (
	"testing"

	"github.com/alluvium/alluvium/worker"
	"go.uber.org/goleak"
)

type localWorker = worker.Worker

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"), goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}
