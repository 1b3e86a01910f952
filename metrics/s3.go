package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// S3 times a worker's S3 API requests by operation and status code. It
// implements s3api.Metrics.
type S3 struct {
	requests *prometheus.HistogramVec
}

// RegisterS3 registers the S3 API's metrics in reg.
func RegisterS3(reg prometheus.Registerer) (*S3, error) {
	m := &S3{requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "alluvium_s3_request_duration_seconds",
		Help:    "Time to answer an S3 API request, by operation (GetObject, ListObjectsV2, PutObject, ...) and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"operation", "code"})}
	if err := reg.Register(m.requests); err != nil {
		return nil, err
	}
	return m, nil
}

// ObserveS3 records one request.
func (m *S3) ObserveS3(operation string, code int, d time.Duration) {
	m.requests.WithLabelValues(operation, strconv.Itoa(code)).Observe(d.Seconds())
}
