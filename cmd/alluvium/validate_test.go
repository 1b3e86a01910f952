package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// validateRun is what `alluvium <args> --validate` did in-process.
type validateRun struct {
	out    map[string]any // the JSON printed, nil when none
	stdout string
	err    error
}

// runValidate runs the real root command in-process with env applied.
func runValidate(t *testing.T, env map[string]string, args ...string) validateRun {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	root := newRootCommand()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append(args, "--validate"))
	r := validateRun{err: root.Execute(), stdout: stdout.String()}
	if r.err == nil {
		if err := json.Unmarshal(stdout.Bytes(), &r.out); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
		}
	}
	return r
}

// writeFile writes body to a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Configurations through the real commands: good ones print the effective
// configuration (typed, secrets redacted) and create nothing; bad ones fail
// naming the flag, or the variable when the value came from there, and
// print nothing on stdout.
func TestValidate(t *testing.T) {
	files := t.TempDir()
	tokens := writeFile(t, files, "tokens", "t0k3n-admin-0123456789 admin ops\nt0k3n-read-0123456789 read dash\n")
	badRole := writeFile(t, files, "tokens-bad", "t0k3n-0123456789abcdef superuser ops\n")
	mounts := writeFile(t, files, "mounts.json", `[{"path": "/data", "ufs": "file:///srv/data"}]`)
	badMounts := writeFile(t, files, "mounts-bad.json", `[{"path": "/data", "ufs": "/srv/data"}`)
	dupMounts := writeFile(t, files, "mounts-dup.json", `[{"path": "/d", "ufs": "/a"}, {"path": "/d", "ufs": "/b"}]`)
	s3keys := writeFile(t, files, "s3keys", "AKIA s3cret\n")
	dataDir := filepath.Join(t.TempDir(), "never-created")
	coord := []string{"coordinator", "--id", "c1", "--data-dir", dataDir}
	boot := "c1=alluvium-coordinator-0.alluvium-coordinator.ns.svc:7001,c2=localhost:7002,c3=10.0.0.3:7003"
	wk := []string{"worker", "--data-dir", dataDir}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string         // a part of the error; "" for a valid config
		want    map[string]any // some effective values, for a valid one
	}{
		{name: "coordinator defaults", args: coord, want: map[string]any{"id": "c1", "raft-addr": "127.0.0.1:7001",
			"snapshot-threshold": 16384.0, "redirect-to-leader": false, "disable": []any{}, "auth-token": ""}},
		{name: "coordinator by DNS names", args: append(coord, "--bootstrap", boot, "--raft-addr", "0.0.0.0:7001",
			"--raft-advertise", "alluvium-coordinator-0.alluvium-coordinator.ns.svc:7001", "--http-advertise", "c0.example:8001"),
			want: map[string]any{"bootstrap": boot, "raft-addr": "0.0.0.0:7001"}},
		{name: "coordinator from the environment", args: []string{"coordinator"},
			env:  map[string]string{"ALLUVIUM_ID": "c2", "ALLUVIUM_DATA_DIR": dataDir, "ALLUVIUM_AUTH_TOKEN": "s3cret", "ALLUVIUM_DISABLE": "ttl,quota", "ALLUVIUM_SNAPSHOT_INTERVAL": "2m"},
			want: map[string]any{"id": "c2", "auth-token": "REDACTED", "disable": []any{"ttl", "quota"}, "snapshot-interval": "2m0s"}},
		{name: "coordinator files", args: append(coord, "--auth-tokens", tokens, "--mount-table", mounts, "--join", "https://c0.example:8001"),
			want: map[string]any{"auth-tokens": tokens, "join": "https://c0.example:8001"}},
		{name: "missing id", args: []string{"coordinator", "--data-dir", dataDir}, wantErr: "--id (ALLUVIUM_ID) is required"},
		{name: "bad bind port", args: append(coord, "--raft-addr", "127.0.0.1:70000"), wantErr: "--raft-addr"},
		{name: "bad http addr from env", args: coord, env: map[string]string{"ALLUVIUM_HTTP_ADDR": "localhost"}, wantErr: "ALLUVIUM_HTTP_ADDR="},
		{name: "every interface, no advertise", args: append(coord, "--raft-addr", ":7001"), wantErr: "--raft-advertise"},
		{name: "API on every interface, no advertise", args: append(coord, "--http-addr", "0.0.0.0:8001"), wantErr: "--http-advertise"},
		{name: "API on every interface, advertised", args: append(coord, "--http-addr", "0.0.0.0:8001", "--http-advertise", "c1.example:8001"),
			want: map[string]any{"http-addr": "0.0.0.0:8001"}},
		{name: "advertise unspecified", args: append(coord, "--raft-advertise", "0.0.0.0:7001"), wantErr: "--raft-advertise"},
		{name: "advertise bad name", args: append(coord, "--http-advertise", "bad_host-:80"), wantErr: "--http-advertise"},
		{name: "bootstrap without self", args: append(coord, "--bootstrap", "c2=localhost:7002"), wantErr: `does not list this coordinator's --id "c1"`},
		{name: "bootstrap duplicate id", args: append(coord, "--bootstrap", "c1=localhost:7001,c1=localhost:7002"), wantErr: "listed twice"},
		{name: "bootstrap bad address", args: append(coord, "--bootstrap", "c1=localhost"), wantErr: "--bootstrap"},
		{name: "bootstrap port 0", args: append(coord, "--bootstrap", "c1=localhost:0"), wantErr: "port"},
		{name: "bootstrap from env", args: coord, env: map[string]string{"ALLUVIUM_BOOTSTRAP": "c1"}, wantErr: "ALLUVIUM_BOOTSTRAP="},
		{name: "bootstrap and join", args: append(coord, "--bootstrap", "c1=localhost:7001", "--join", "http://localhost:8002"), wantErr: "exclusive"},
		{name: "join not a URL", args: append(coord, "--join", "localhost:8002"), wantErr: "--join"},
		{name: "disable unknown", args: append(coord, "--disable", "ttl,quotas"), wantErr: `--disable "quotas"`},
		{name: "disable unknown from env", args: coord, env: map[string]string{"ALLUVIUM_DISABLE": "nope"}, wantErr: "ALLUVIUM_DISABLE="},
		{name: "bad duration", args: append(coord, "--worker-timeout", "0s"), wantErr: "--worker-timeout"},
		{name: "unparsable duration from env", args: coord, env: map[string]string{"ALLUVIUM_SNAPSHOT_INTERVAL": "soon"}, wantErr: "ALLUVIUM_SNAPSHOT_INTERVAL"},
		{name: "bad size", args: append(coord, "--max-snapshot-size", "big"), wantErr: "--max-snapshot-size"},
		{name: "ring mode", args: append(coord, "--ring-mode", "round"), wantErr: "--ring-mode"},
		{name: "log store", args: append(coord, "--raft-log-store", "sqlite"), wantErr: "--raft-log-store"},
		{name: "log level", args: append(coord, "--log-level", "loud"), wantErr: "--log-level"},
		{name: "tokens bad role", args: append(coord, "--auth-tokens", badRole), wantErr: "--auth-tokens"},
		{name: "tokens missing file", args: append(coord, "--auth-tokens", filepath.Join(files, "none")), wantErr: "--auth-tokens"},
		{name: "mount table syntax", args: append(coord, "--mount-table", badMounts), wantErr: "--mount-table"},
		{name: "mount table duplicate", args: append(coord, "--mount-table", dupMounts), wantErr: "--mount-table"},
		{name: "tls cert without key", args: append(coord, "--tls-cert", "/c.pem", "--tls-ca", "/ca.pem"), wantErr: "--tls-key"},
		{name: "tls cert without ca", args: append(coord, "--tls-cert", "/c.pem", "--tls-key", "/k.pem"), wantErr: "--tls-ca"},
		{name: "raft ca without cert", args: append(coord, "--raft-tls-ca", "/ca.pem"), wantErr: "--raft-tls-ca"},
		{name: "allowed ufs", args: append(coord, "--allowed-ufs", "ftp://x"), wantErr: "--allowed-ufs"},

		{name: "worker", args: append(wk, "--coordinators", "http://alluvium-coordinator-0.alluvium-coordinator:8001,https://10.0.0.2:8002",
			"--http-advertise", "w0.alluvium-worker:9001", "--s3-addr", ":9090", "--s3-credentials", s3keys, "--cache-size", "10GiB"),
			want: map[string]any{"cache-size": "10GiB", "coordinators": []any{"http://alluvium-coordinator-0.alluvium-coordinator:8001", "https://10.0.0.2:8002"},
				"fsync": false, "replicas": 3.0, "ring-weight": 0.0, "s3-credentials": s3keys}},
		{name: "worker cache size from env", args: wk, env: map[string]string{"ALLUVIUM_CACHE_SIZE": "lots"}, wantErr: "ALLUVIUM_CACHE_SIZE="},
		{name: "worker cache size", args: append(wk, "--cache-size", "lots"), wantErr: "--cache-size"},
		{name: "worker cache under a page", args: append(wk, "--cache-size", "1KiB"), wantErr: "--cache-size"},
		{name: "worker page size", args: append(wk, "--page-size", "1KiB"), wantErr: "--page-size"},
		{name: "worker coordinators", args: append(wk, "--coordinators", "ftp://c:1"), wantErr: "--coordinators"},
		{name: "worker no coordinators", args: append(wk, "--coordinators", ""), wantErr: "--coordinators"},
		{name: "worker s3 addr", args: append(wk, "--s3-addr", "nine"), wantErr: "--s3-addr"},
		{name: "worker on every interface, no advertise", args: append(wk, "--http-addr", ":9001"), wantErr: "--http-advertise"},
		{name: "worker s3 credentials", args: append(wk, "--s3-credentials", badRole), wantErr: "--s3-credentials"},
		{name: "worker ring weight", args: append(wk, "--ring-weight", "1e9"), wantErr: "--ring-weight"},
		{name: "worker replicas", args: append(wk, "--replicas", "0"), wantErr: "--replicas"},
		{name: "worker tls ca alone", args: append(wk, "--tls-ca", "/ca.pem"), wantErr: "--tls-ca"},
		{name: "worker missing data dir", args: []string{"worker"}, wantErr: "--data-dir (ALLUVIUM_DATA_DIR) is required"},

		{name: "fuse", args: []string{"fuse", "/mnt/alluvium", "--coordinator", "http://c0:8001", "--auth-token", "tok"},
			want: map[string]any{"readahead": "64MiB", "auth-token": "REDACTED", "coordinator": []any{"http://c0:8001"}}},
		{name: "fuse no mountpoint", args: []string{"fuse"}, wantErr: "usage"},
		{name: "fuse readahead", args: []string{"fuse", "/mnt/a", "--readahead", "2GiB"}, wantErr: "--readahead"},
		{name: "fuse readahead from env", args: []string{"fuse", "/mnt/a"}, env: map[string]string{"ALLUVIUM_READAHEAD_MEMORY": "x"}, wantErr: "ALLUVIUM_READAHEAD_MEMORY="},
		{name: "fuse coordinator", args: []string{"fuse", "/mnt/a", "--coordinator", "c0:8001"}, wantErr: "--coordinator"},
		{name: "fuse tls key alone", args: []string{"fuse", "/mnt/a", "--tls-key", "/k.pem"}, wantErr: "--tls-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runValidate(t, tc.env, tc.args...)
			if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("--validate created the data dir (%v)", err)
			}
			if tc.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", r.err, tc.wantErr)
				}
				if r.stdout != "" {
					t.Fatalf("stdout %q on an invalid configuration", r.stdout)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("valid configuration refused: %v", r.err)
			}
			if r.out["command"] != tc.args[0] {
				t.Fatalf("command %v, want %s", r.out["command"], tc.args[0])
			}
			cfg, _ := r.out["config"].(map[string]any)
			for k, v := range tc.want {
				if got, _ := json.Marshal(cfg[k]); string(got) != mustJSON(t, v) {
					t.Errorf("config[%q] = %s, want %s", k, got, mustJSON(t, v))
				}
			}
			if _, ok := cfg["validate"]; ok {
				t.Error("the config lists --validate")
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every flag of the command is in the effective configuration.
func TestValidateListsEveryFlag(t *testing.T) {
	for _, args := range [][]string{{"coordinator", "--id", "c1", "--data-dir", "/d"}, {"worker", "--data-dir", "/d"}, {"fuse", "/m"}} {
		r := runValidate(t, nil, args...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		cfg := r.out["config"].(map[string]any)
		cmd, _, err := newRootCommand().Find(args[:1])
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || f.Name == "validate" {
				return
			}
			n++
			if _, ok := cfg[f.Name]; !ok {
				t.Errorf("%s: --%s missing from the effective configuration", args[0], f.Name)
			}
		})
		if n != len(cfg) {
			t.Errorf("%s: %d flags, %d entries", args[0], n, len(cfg))
		}
	}
}

// A leftover ALLUVIUM_VALIDATE does not turn a start into a check: the
// command starts (and here fails for want of a data dir).
func TestValidateIsNotTakenFromTheEnvironment(t *testing.T) {
	t.Setenv("ALLUVIUM_VALIDATE", "true")
	root := newRootCommand()
	var stdout bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"worker"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--data-dir") || stdout.Len() != 0 {
		t.Fatalf("err %v, stdout %q: want the start's missing --data-dir", err, stdout.String())
	}
}

// The built binary: exit 0 and one JSON object for a good configuration,
// exit 1, an empty stdout and the variable named on stderr for a bad one.
func TestValidateBinary(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "c1")
	for _, tc := range []struct {
		env      []string
		code     int
		inStderr string
	}{
		{[]string{"ALLUVIUM_ID=c1", "ALLUVIUM_DATA_DIR=" + dataDir, "ALLUVIUM_BOOTSTRAP=c1=localhost:7001,c2=localhost:7002", "ALLUVIUM_AUTH_TOKEN=x"}, 0, ""},
		{[]string{"ALLUVIUM_ID=c1", "ALLUVIUM_DATA_DIR=" + dataDir, "ALLUVIUM_BOOTSTRAP=c2=localhost:7002"}, 1, "ALLUVIUM_BOOTSTRAP="},
		{[]string{"ALLUVIUM_ID=c1", "ALLUVIUM_DATA_DIR=" + dataDir, "ALLUVIUM_RAFT_ADDR=0.0.0.0:99999"}, 1, "ALLUVIUM_RAFT_ADDR="},
	} {
		cmd := exec.Command(binary, "coordinator", "--validate")
		cmd.Env = append(os.Environ(), tc.env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(stderr.String(), tc.inStderr) {
			t.Fatalf("%v: exit %d, stderr %q; want %d and %q", tc.env, code, stderr.String(), tc.code, tc.inStderr)
		}
		if code != 0 {
			if stdout.Len() != 0 {
				t.Fatalf("%v: stdout %q on failure", tc.env, stdout.String())
			}
			continue
		}
		var out struct {
			Command string         `json:"command"`
			Config  map[string]any `json:"config"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.Command != "coordinator" || out.Config["auth-token"] != "REDACTED" {
			t.Fatalf("stdout %s (%v)", stdout.String(), err)
		}
		if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("--validate created the data dir (%v)", err)
		}
	}
}
