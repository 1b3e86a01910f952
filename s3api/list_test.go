package s3api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/s3api"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestListPagingEveryMaxKeys(t *testing.T) {
	e := start(t, 1, s3api.Config{Credentials: s3api.StaticCredentials(map[string]string{testAK: testSecret})})
	cl := e.client(0, testAK, testSecret)
	ctx := context.Background()
	var want []string
	for i := range 42 {
		want = append(want, pagingKey(i))
	}
	for max := int32(1); max <= 7; max++ {
		t.Run(fmt.Sprintf("v2 max-keys %d", max), func(t *testing.T) {
			var got []string
			pages := 0
			p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String("sample"), Prefix: aws.String("paging/"), MaxKeys: aws.Int32(max)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(out.Contents); n > int(max) || aws.ToInt32(out.KeyCount) != int32(n) {
					t.Fatalf("page of %d keys (KeyCount %d) with max-keys %d", n, aws.ToInt32(out.KeyCount), max)
				}
				for _, o := range out.Contents {
					got = append(got, aws.ToString(o.Key))
				}
				pages++
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
			if wantPages := (42 + int(max) - 1) / int(max); pages != wantPages {
				t.Fatalf("%d pages, want %d", pages, wantPages)
			}
		})
		t.Run(fmt.Sprintf("v1 max-keys %d", max), func(t *testing.T) {
			var got []string
			marker := ""
			for {
				out, err := cl.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("sample"), Prefix: aws.String("paging/"), MaxKeys: aws.Int32(max), Marker: aws.String(marker)})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range out.Contents {
					got = append(got, aws.ToString(o.Key))
					if o.Owner == nil {
						t.Fatal("v1 listing without an owner")
					}
				}
				if !aws.ToBool(out.IsTruncated) {
					break
				}
				marker = got[len(got)-1]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
		})
	}
}

// listAll pages a v2 listing to its end with max-keys 2, returning keys
// and common prefixes.
func listAll(t *testing.T, cl *s3.Client, in s3.ListObjectsV2Input) (keys, prefixes []string) {
	t.Helper()
	in.MaxKeys = aws.Int32(2)
	p := s3.NewListObjectsV2Paginator(cl, &in)
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, c := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(c.Prefix))
		}
	}
	return keys, prefixes
}

func TestListDelimiterPrefixStartAfter(t *testing.T) {
	e := start(t, 1, s3api.Config{})
	cl := e.client(0, "anyone", "anything")
	for _, tc := range []struct {
		name, bucket, prefix, delim, after string
		keys, prefixes                     []string
	}{
		{"top level", "sample", "", "/", "", []string{"empty.bin", "hello.txt"}, []string{"big/", "deep/", "names/", "paging/"}},
		{"one level down", "sample", "deep/", "/", "", []string{"deep/e.txt"}, []string{"deep/a/", "deep/f/"}},
		{"two levels", "sample", "deep/a/", "/", "", []string{"deep/a/d.txt"}, []string{"deep/a/b/"}},
		{"narrow prefix", "sample", "deep/a/b", "/", "", nil, []string{"deep/a/b/"}},
		{"partial name", "sample", "paging/e", "", "", []string{"paging/e0.txt", "paging/e1.txt"}, nil},
		{"no delimiter", "sample", "deep/", "", "", []string{"deep/a/b/c.txt", "deep/a/d.txt", "deep/e.txt", "deep/f/g.txt"}, nil},
		{"start-after", "sample", "deep/", "", "deep/a/d.txt", []string{"deep/e.txt", "deep/f/g.txt"}, nil},
		{"other delimiter", "sample", "paging/", ".", "paging/d9.txt", nil, []string{"paging/e0.", "paging/e1."}},
		{"bucket of two mounts", "data", "", "", "", []string{"team-a/one.txt", "team-a/sub/two.txt", "team-b/three.txt"}, nil},
		{"bucket of two mounts by level", "data", "", "/", "", nil, []string{"team-a/", "team-b/"}},
		{"inside a mount", "data", "team-a/", "/", "", []string{"team-a/one.txt"}, []string{"team-a/sub/"}},
		{"unicode", "sample", "names/ü", "", "", []string{"names/ünï/☃.txt"}, nil},
		{"names", "sample", "names/", "/", "", []string{"names/100%.txt", "names/a b.txt", "names/x+y.txt"}, []string{"names/ünï/"}},
		{"spaced bucket", "my bucket", "", "", "", []string{"in a bucket.txt"}, nil},
		{"no such prefix", "sample", "nothing/", "/", "", nil, nil},
		{"escaping prefix", "sample", "../", "/", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := s3.ListObjectsV2Input{Bucket: aws.String(tc.bucket), Prefix: aws.String(tc.prefix)}
			if tc.delim != "" {
				in.Delimiter = aws.String(tc.delim)
			}
			if tc.after != "" {
				in.StartAfter = aws.String(tc.after)
			}
			keys, prefixes := listAll(t, cl, in)
			if !slices.Equal(keys, tc.keys) || !slices.Equal(prefixes, tc.prefixes) {
				t.Fatalf("keys %q prefixes %q; want %q %q", keys, prefixes, tc.keys, tc.prefixes)
			}
		})
	}
}

func TestListRawAnswers(t *testing.T) {
	e := start(t, 1, s3api.Config{})
	for _, tc := range []struct {
		name, target string
		code         int
		has          []string
	}{
		{"url encoding", "/sample?list-type=2&prefix=names/&encoding-type=url", 200, []string{"<Key>names/a+b.txt</Key>", "<Key>names/x%2By.txt</Key>", "<Key>names/100%25.txt</Key>"}},
		{"fetch-owner", "/sample?list-type=2&prefix=hello&fetch-owner=true", 200, []string{"<Owner><ID>alluvium</ID>", "<ETag>&#34;"}},
		{"no owner by default", "/sample?list-type=2&prefix=hello", 200, []string{"<KeyCount>1</KeyCount>"}},
		{"v1 next marker", "/sample?delimiter=/&max-keys=1", 200, []string{"<NextMarker>big/</NextMarker>", "<IsTruncated>true</IsTruncated>"}},
		{"bad max-keys", "/sample?list-type=2&max-keys=-1", 400, []string{"<Code>InvalidArgument</Code>"}},
		{"bad token", "/sample?list-type=2&continuation-token=!!!", 400, []string{"<Code>InvalidArgument</Code>"}},
		{"no such bucket", "/nope?list-type=2", 404, []string{"<Code>NoSuchBucket</Code>"}},
		{"max-keys 0", "/sample?list-type=2&max-keys=0", 200, []string{"<KeyCount>0</KeyCount>", "<IsTruncated>false</IsTruncated>"}},
		{"location", "/sample?location", 200, []string{"LocationConstraint"}},
		{"acl not implemented", "/sample?acl", 501, []string{"<Code>NotImplemented</Code>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := e.raw(0, "GET", tc.target, nil)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			for _, h := range tc.has {
				if !strings.Contains(body, h) {
					t.Fatalf("answer lacks %q: %s", h, body)
				}
			}
		})
	}
}
