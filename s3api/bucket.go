package s3api

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"time"
)

// buckets returns the bucket names, sorted: the first components of the
// mount points. A mount at "/" gives no bucket.
func buckets(mounts []string) []string {
	var out []string
	for _, m := range mounts {
		b, _, _ := strings.Cut(strings.TrimPrefix(m, "/"), "/")
		if b != "" && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
}

// mountsOf returns the mount points inside bucket.
func mountsOf(mounts []string, bucket string) []string {
	var out []string
	root := "/" + bucket
	for _, m := range mounts {
		if m == root || strings.HasPrefix(m, root+"/") {
			out = append(out, m)
		}
	}
	return out
}

// checkBucket answers NoSuchBucket when no mount lies in bucket.
func (s *Server) checkBucket(rw http.ResponseWriter, r *http.Request, bucket string) bool {
	if len(mountsOf(s.cfg.Backend.MountPoints(), bucket)) > 0 {
		return true
	}
	writeError(rw, r, errorf("NoSuchBucket", "the specified bucket does not exist"))
	return false
}

type bucketXML struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// owner is the one owner of every bucket and object.
var owner = ownerXML{ID: "alluvium", DisplayName: "alluvium"}

type listAllMyBucketsResult struct {
	XMLName xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner   ownerXML    `xml:"Owner"`
	Buckets []bucketXML `xml:"Buckets>Bucket"`
}

// bucketDate is the creation date shown for every bucket: the mount table
// keeps no date.
var bucketDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(timeFormat)

func (s *Server) listBuckets(rw http.ResponseWriter, r *http.Request) {
	out := listAllMyBucketsResult{Owner: owner, Buckets: []bucketXML{}}
	for _, b := range buckets(s.cfg.Backend.MountPoints()) {
		out.Buckets = append(out.Buckets, bucketXML{Name: b, CreationDate: bucketDate})
	}
	writeXML(rw, r, out)
}

func (s *Server) headBucket(rw http.ResponseWriter, r *http.Request, req request) {
	if !s.checkBucket(rw, r, req.bucket) {
		return
	}
	rw.Header().Set("X-Amz-Bucket-Region", s.cfg.Region)
	rw.WriteHeader(http.StatusOK)
}

type locationConstraint struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Region  string   `xml:",chardata"`
}

func (s *Server) bucketLocation(rw http.ResponseWriter, r *http.Request, req request) {
	if !s.checkBucket(rw, r, req.bucket) {
		return
	}
	region := s.cfg.Region
	if region == "us-east-1" {
		region = "" // as S3 answers for us-east-1
	}
	writeXML(rw, r, locationConstraint{Region: region})
}
