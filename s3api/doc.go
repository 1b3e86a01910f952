// Package s3api serves the S3 REST API over a worker's cache, so that
// boto3, the AWS CLI, s3fs and other S3 clients read cached files
// unchanged.
//
// Buckets are the top-level components of the mount table: a mount at
// /sample is bucket "sample"; mounts at /data/team-a and /data/team-b are
// bucket "data" with keys "team-a/..." and "team-b/...". Buckets are
// addressed path-style (http://host/bucket/key) or virtual-host-style
// (http://bucket.<domain>/key, for the domains in Config.Domains).
//
// Reads only: ListBuckets, HeadBucket, GetBucketLocation, ListObjectsV2,
// ListObjects (v1), HeadObject and GetObject. Every write is answered
// NotImplemented with S3's XML error body and changes nothing.
//
// One job per file: server.go routes a request to its operation (and
// records its metrics), auth.go verifies AWS Signature Version 4 (header and
// presigned forms), credentials.go holds the access keys (a file reloaded on
// demand), errors.go writes S3's XML errors, bucket.go the bucket
// operations, list.go the listings (paged from the UFS listing, so a
// listing holds at most one UFS page and one answer page in memory
// whatever the prefix), object.go the object reads (served from this
// worker's cache when it owns the key, otherwise fetched from the owner's
// cache through its data API, or redirected there).
//
// The handlers are written here rather than taken from gofakes3 or
// versitygw: gofakes3's backend interface hands over whole objects and whole
// listings (no Range through the cache, no paging below the front end, no
// SigV4 verification), and versitygw is a gateway with its own IAM and a
// write path; neither lets http.ServeContent stream a range straight from
// the cache's pages, which is what the read path is for.
package s3api
