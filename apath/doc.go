// Package apath validates and relates the two kinds of names Alluvium deals
// in: Alluxio paths ("/s3/team-a/file.parquet"), the cluster-wide namespace
// that mount points, quotas, TTLs and priorities are keyed by, and UFS URIs
// ("s3://bucket/prefix", "file:///srv/data"), the places data really lives.
//
// Every package that accepts a path from a user goes through here, so that a
// path is judged the same way by the API, the replicated state machine and the
// workers. Functions are pure: no file system or network is touched.
package apath
