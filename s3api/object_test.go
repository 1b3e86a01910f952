package s3api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/s3api"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestGetObjectRangesAndConditionals(t *testing.T) {
	e := start(t, 1, s3api.Config{Credentials: s3api.StaticCredentials(map[string]string{testAK: testSecret})})
	cl := e.client(0, testAK, testSecret)
	ctx := context.Background()
	big := testFiles()["big/three-pages.bin"]
	n := int64(len(big))
	for _, r := range [][2]int64{{0, 0}, {0, pageSize - 1}, {pageSize - 1, pageSize}, {pageSize, 2*pageSize - 1}, {pageSize - 3, 2*pageSize + 3}, {3 * pageSize, n - 1}, {n - 1, n - 1}, {0, n - 1}} {
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("big/three-pages.bin"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[1]))})
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, fmt.Sprintf("range %v", r), readAll(t, out.Body), big[r[0]:r[1]+1])
		if want := fmt.Sprintf("bytes %d-%d/%d", r[0], r[1], n); aws.ToString(out.ContentRange) != want {
			t.Fatalf("Content-Range %q, want %q", aws.ToString(out.ContentRange), want)
		}
	}
	_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("big/three-pages.bin"), Range: aws.String(fmt.Sprintf("bytes=%d-", n))})
	if apiCode(err) != "InvalidRange" {
		t.Fatalf("range past the end: %v", err)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sample"), Key: aws.String("big/three-pages.bin")})
	if err != nil || aws.ToInt64(head.ContentLength) != n || aws.ToString(head.ETag) == "" {
		t.Fatalf("head: %+v %v", head, err)
	}
	etag, mod := aws.ToString(head.ETag), aws.ToTime(head.LastModified)
	for _, tc := range []struct {
		name string
		in   s3.GetObjectInput
		code string // "" for 200, "NotModified" for 304
	}{
		{"if-match", s3.GetObjectInput{IfMatch: aws.String(etag)}, ""},
		{"if-match other", s3.GetObjectInput{IfMatch: aws.String(`"other"`)}, "PreconditionFailed"},
		{"if-none-match", s3.GetObjectInput{IfNoneMatch: aws.String(etag)}, "NotModified"},
		{"if-none-match other", s3.GetObjectInput{IfNoneMatch: aws.String(`"other"`)}, ""},
		{"if-modified-since later", s3.GetObjectInput{IfModifiedSince: aws.Time(mod.Add(time.Hour))}, "NotModified"},
		{"if-modified-since earlier", s3.GetObjectInput{IfModifiedSince: aws.Time(mod.Add(-time.Hour))}, ""},
		{"if-unmodified-since earlier", s3.GetObjectInput{IfUnmodifiedSince: aws.Time(mod.Add(-time.Hour))}, "PreconditionFailed"},
		{"if-unmodified-since later", s3.GetObjectInput{IfUnmodifiedSince: aws.Time(mod.Add(time.Hour))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket, in.Key = aws.String("sample"), aws.String("big/three-pages.bin")
			out, err := cl.GetObject(ctx, &in)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				mustEqual(t, "body", readAll(t, out.Body), big)
				return
			}
			if got := apiCode(err); got != tc.code && !strings.Contains(got, "304") {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("hello.txt"),
		ResponseContentType: aws.String("text/x-test"), ResponseContentDisposition: aws.String(`attachment; filename="h.txt"`),
		ResponseCacheControl: aws.String("no-store"), ResponseContentLanguage: aws.String("en")})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, out.Body)
	if aws.ToString(out.ContentType) != "text/x-test" || aws.ToString(out.ContentDisposition) != `attachment; filename="h.txt"` ||
		aws.ToString(out.CacheControl) != "no-store" || aws.ToString(out.ContentLanguage) != "en" {
		t.Fatalf("overrides not applied: %+v", out)
	}
	// The download manager, in ranged parts.
	tm := transfermanager.New(cl, func(o *transfermanager.Options) { o.PartSizeBytes = 5 << 20; o.Concurrency = 3 })
	got, err := tm.GetObject(ctx, &transfermanager.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("big/three-pages.bin")})
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "transfer manager", readAll(t, got.Body), big)
}

func TestNamesAndEscapes(t *testing.T) {
	e := start(t, 1, s3api.Config{})
	cl := e.client(0, "x", "y")
	ctx := context.Background()
	for key, want := range map[string]string{"names/a b.txt": "space", "names/x+y.txt": "plus", "names/100%.txt": "percent", "names/ünï/☃.txt": "unicode"} {
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		mustEqual(t, key, readAll(t, out.Body), []byte(want))
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("my bucket"), Key: aws.String("in a bucket.txt")})
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "spaced bucket", readAll(t, out.Body), []byte("spaced bucket"))
	_, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("nope.txt")})
	if apiCode(err) != "NoSuchKey" {
		t.Fatalf("missing key: %v", err)
	}
	_, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nope"), Key: aws.String("a")})
	if apiCode(err) != "NoSuchBucket" {
		t.Fatalf("missing bucket: %v", err)
	}
	for _, target := range []string{"/sample/../data/team-a/one.txt", "/sample/big/../../etc/passwd", "/sample/%2E%2E/%2E%2E/etc/passwd", "/sample/a//b", "/sample/./hello.txt"} {
		code, _, body := e.raw(0, "GET", target, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, "<Code>InvalidArgument</Code>") {
			t.Fatalf("%s: %d %s", target, code, body)
		}
	}
	// Virtual-host style needs a domain.
	e2 := start(t, 1, s3api.Config{Domains: []string{"s3.test"}})
	code, _, body := e2.raw(0, "GET", "/hello.txt", map[string]string{"Host": "sample.s3.test"})
	if code != 200 || body != "hello, s3\n" {
		t.Fatalf("virtual host: %d %q", code, body)
	}
	code, _, body = e2.raw(0, "GET", "/?list-type=2&prefix=deep/&delimiter=/", map[string]string{"Host": "sample.s3.test:80"})
	if code != 200 || !strings.Contains(body, "<Prefix>deep/a/</Prefix>") {
		t.Fatalf("virtual host listing: %d %q", code, body)
	}
}

func TestBucketsAndWrites(t *testing.T) {
	e := start(t, 1, s3api.Config{Credentials: s3api.StaticCredentials(map[string]string{testAK: testSecret})})
	cl := e.client(0, testAK, testSecret)
	ctx := context.Background()
	lb, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if strings.Join(names, ",") != "data,my bucket,sample" {
		t.Fatalf("buckets %q", names)
	}
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")}); err == nil {
		t.Fatal("head of a missing bucket succeeded")
	}
	loc, err := cl.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("sample")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("location %+v %v", loc, err)
	}
	for name, call := range map[string]func() error{
		"PutObject": func() error {
			_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sample"), Key: aws.String("hello.txt"), Body: strings.NewReader("overwritten")})
			return err
		},
		"DeleteObject": func() error {
			_, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("sample"), Key: aws.String("hello.txt")})
			return err
		},
		"CopyObject": func() error {
			_, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("sample"), Key: aws.String("copy.txt"), CopySource: aws.String("sample/hello.txt")})
			return err
		},
		"CreateMultipartUpload": func() error {
			_, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sample"), Key: aws.String("mp.bin")})
			return err
		},
		"CreateBucket": func() error {
			_, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("newbucket")})
			return err
		},
		"DeleteBucket": func() error {
			_, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("sample")})
			return err
		},
	} {
		if got := apiCode(call()); got != "NotImplemented" {
			t.Errorf("%s: %s, want NotImplemented", name, got)
		}
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sample"), Key: aws.String("hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "after the writes", readAll(t, out.Body), []byte("hello, s3\n"))
	// Unsigned writes are refused before anything else.
	code, _, body := e.raw(0, "PUT", "/sample/x.txt", nil)
	if code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("anonymous put: %d %s", code, body)
	}
	// Metrics count operations by status.
	mcode, _, metrics := e.rawURL(strings.TrimSuffix(e.c.Workers[0].URL, "/") + "/metrics")
	if mcode != 200 || !strings.Contains(metrics, `alluvium_s3_request_duration_seconds_count{code="501",operation="PutObject"} 1`) ||
		!strings.Contains(metrics, `operation="ListBuckets"`) {
		t.Fatalf("metrics: %d\n%s", mcode, grep(metrics, "alluvium_s3"))
	}
}

func grep(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func (e *env) rawURL(u string) (int, http.Header, string) {
	resp, err := http.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header, string(readAll(e.t, resp.Body))
}

func TestMinioClient(t *testing.T) {
	e := start(t, 2, s3api.Config{Credentials: s3api.StaticCredentials(map[string]string{testAK: testSecret})})
	ctx := context.Background()
	for i := range e.c.Workers {
		mc, err := minio.New(strings.TrimPrefix(e.c.Workers[i].S3URL, "http://"), &minio.Options{
			Creds: miniocreds.NewStaticV4(testAK, testSecret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for obj := range mc.ListObjects(ctx, "sample", minio.ListObjectsOptions{Prefix: "paging/", Recursive: true, MaxKeys: 5}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			n++
		}
		if n != 42 {
			t.Fatalf("worker %d: minio listed %d keys", i, n)
		}
		for key, want := range testFiles() {
			o, err := mc.GetObject(ctx, "sample", key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, fmt.Sprintf("worker %d %s", i, key), readAll(t, o), want)
			o.Close()
		}
		st, err := mc.StatObject(ctx, "sample", "names/x+y.txt", minio.StatObjectOptions{})
		if err != nil || st.Size != 4 {
			t.Fatalf("stat %+v %v", st, err)
		}
	}
}
