package s3api_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/s3api"
)

// tool finds a client program nobody here wrote; CI (ALLUVIUM_REQUIRE_S3_TOOLS=1)
// requires it, elsewhere the test skips.
func tool(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("ALLUVIUM_REQUIRE_S3_TOOLS") == "1" {
			t.Fatalf("%s is required (ALLUVIUM_REQUIRE_S3_TOOLS=1): apt-get install awscli python3-boto3", name)
		}
		t.Skipf("%s not installed (Debian: apt-get install awscli python3-boto3); skipping", name)
	}
	return p
}

func TestAWSCLIAndBoto3(t *testing.T) {
	aws := tool(t, "aws")
	py := tool(t, "/usr/bin/python3")
	if exec.Command(py, "-c", "import boto3").Run() != nil {
		if os.Getenv("ALLUVIUM_REQUIRE_S3_TOOLS") == "1" {
			t.Fatal("python3-boto3 is required (ALLUVIUM_REQUIRE_S3_TOOLS=1)")
		}
		t.Skip("python3-boto3 not installed; skipping")
	}
	e := start(t, 2, s3api.Config{Credentials: s3api.StaticCredentials(map[string]string{testAK: testSecret})})
	ep := e.c.Workers[1].S3URL
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+testAK, "AWS_SECRET_ACCESS_KEY="+testSecret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME="+t.TempDir(), "AWS_PAGER=")
	run := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
		}
		return string(out)
	}
	ls := run(aws, "--endpoint-url", ep, "s3", "ls")
	if !strings.Contains(ls, "sample") || !strings.Contains(ls, "data") {
		t.Fatalf("aws s3 ls: %s", ls)
	}
	ls = run(aws, "--endpoint-url", ep, "s3", "ls", "s3://sample/names/")
	for _, want := range []string{"a b.txt", "x+y.txt", "100%.txt", "PRE ünï/"} {
		if !strings.Contains(ls, want) {
			t.Fatalf("aws s3 ls lacks %q:\n%s", want, ls)
		}
	}
	dst := t.TempDir()
	run(aws, "--endpoint-url", ep, "s3", "cp", "--recursive", "--only-show-errors", "s3://sample/", dst)
	for name, want := range testFiles() {
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "aws s3 cp "+name, got, want)
	}
	script := `
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="sample", Prefix="paging/", PaginationConfig={"PageSize": 5}):
    keys += [o["Key"] for o in page.get("Contents", [])]
print(len(keys))
print(s3.get_object(Bucket="sample", Key="names/x+y.txt")["Body"].read().decode())
print(s3.get_object(Bucket="sample", Key="big/three-pages.bin", Range="bytes=65535-65536")["ContentLength"])
s3.download_file("sample", "big/three-pages.bin", sys.argv[2])
`
	out := run(py, "-c", script, ep, filepath.Join(dst, "boto3.bin"))
	if out != "42\nplus\n2\n" {
		t.Fatalf("boto3: %q", out)
	}
	got, _ := os.ReadFile(filepath.Join(dst, "boto3.bin"))
	mustEqual(t, "boto3 download_file", got, testFiles()["big/three-pages.bin"])
}
