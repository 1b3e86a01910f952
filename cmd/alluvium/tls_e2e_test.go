package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/tlsconfig"
)

// testCA signs the certificates of the process-level TLS tests; the test
// HTTP clients (client, durClient) trust it besides the system roots.
var testCA = func() *tlsconfig.CA {
	ca, err := tlsconfig.NewCA("alluvium test CA", 24*time.Hour)
	if err != nil {
		panic(err)
	}
	return ca
}()

func init() {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(testCA.PEM)
	for _, hc := range []*http.Client{client, durClient} {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool}
		hc.Transport = httpsToken{t}
	}
}

// httpsTokenValue, when set (by a test of a cluster with tokens, which
// runs on TLS), is sent as the bearer token on https requests of client
// and durClient that carry none.
var httpsTokenValue string

type httpsToken struct{ base http.RoundTripper }

func (h httpsToken) RoundTrip(r *http.Request) (*http.Response, error) {
	if httpsTokenValue != "" && r.URL.Scheme == "https" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+httpsTokenValue)
	}
	return h.base.RoundTrip(r)
}

// Tokens of the process-level security test.
const (
	e2eAdminToken  = "e2e-admin-token-0123456789"
	e2eWorkerToken = "e2e-worker-token-0123456789"
	e2eReadToken   = "e2e-read-token-0123456789"
)

// servedSerial is the serial number of the certificate addr presents.
func servedSerial(addr string) (*big.Int, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

func certSerial(t *testing.T, path string) *big.Int {
	t.Helper()
	kp, err := tls.LoadX509KeyPair(path, strings.TrimSuffix(path, ".pem")+"-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(kp.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber
}

// TestTLSClusterProcesses runs three coordinator and three worker
// processes on TLS (mutual TLS on Raft) with scoped tokens and audit logs:
// plain HTTP and clients without the CA are refused; the roles hold
// through the processes and the refusals are audited, no token in any log;
// a load job survives the leader's SIGKILL and a rotation of every node's
// certificate in its middle with no file failed; every node then serves
// the new certificate; the CLI reads through it all.
func TestTLSClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	certDir, ufsDir := t.TempDir(), t.TempDir()
	files, err := testCA.WriteFiles(certDir, "node", tlsconfig.DevHosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const nFiles, size = 48, 512 << 10
	for i := range nFiles {
		if err := os.WriteFile(filepath.Join(ufsDir, fmt.Sprintf("f%03d", i)), sampleBytes(fmt.Sprint(i), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tokens := filepath.Join(certDir, "tokens")
	if err := os.WriteFile(tokens, []byte(e2eAdminToken+" admin ops\n"+e2eWorkerToken+" worker workers\n"+e2eReadToken+" read dashboards\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpsTokenValue = e2eAdminToken
	t.Cleanup(func() { httpsTokenValue = "" })
	logDir := t.TempDir()
	auditLog := filepath.Join(logDir, "audit-%s.log")
	tlsArgs := []string{"--tls-cert", files.Cert, "--tls-key", files.Key, "--tls-ca", files.CA, "--auth-tokens", tokens}
	coordArgs := append([]string{"--worker-timeout", "3s", "--auth-token", e2eAdminToken}, tlsArgs...)
	c := startProcClusterWith(t, logDir, ufsDir, 3, func(name string) []string {
		return append(coordArgs, "--audit-log", fmt.Sprintf(auditLog, name))
	}, append([]string{"--cache-size", "64MiB", "--memory-size", "0", "--auth-token", e2eWorkerToken}, tlsArgs...))
	testRefusedWithoutTLS(t, c)
	testRolesAndAudit(t, c, auditLog, logDir)

	// About 16 s of load at 1 MiB/s a worker (2 replicas of 24 MiB over 3).
	job := `{"paths":["/data"],"alias":"tls","options":{"replicas":2,"batchSize":4,"bandwidth":1048576}}`
	eventually(t, "submit the load job", 30*time.Second, func() bool {
		code := post(t.Context(), c.coordURLs[0]+"/api/v1/load", job)
		return code == http.StatusOK || code == http.StatusConflict
	})
	eventually(t, "the job running", 30*time.Second, func() bool {
		j, ok := c.loadJob("tls")
		return ok && j.LoadedFiles > 0
	})
	// Rotate every node's certificate (same CA, new key), then kill the leader.
	if _, err := testCA.WriteFiles(certDir, "node", tlsconfig.DevHosts, time.Hour); err != nil {
		t.Fatal(err)
	}
	rotated := certSerial(t, files.Cert)
	killed := c.waitLeaderIndex(t, 10*time.Second)
	waitServes(t, strings.TrimPrefix(c.coordURLs[killed], "https://"), rotated)
	j, ok := c.loadJob("tls")
	if !ok || j.State != "RUNNING" {
		t.Fatalf("the job ended before the rotation took effect: %s", jobLine(j, ok))
	}
	t.Logf("rotated the certificates; SIGKILL leader %s (%s)", c.coords[killed].name, jobLine(j, ok))
	c.coords[killed].kill9()

	var final api.Job
	eventually(t, "the load job to finish", 90*time.Second, func() bool {
		j, ok := c.loadJob("tls")
		final = j
		return ok && j.State != "RUNNING" && j.State != "WAITING"
	})
	if final.State != "SUCCEEDED" || final.FailedFiles != 0 || final.LoadedFiles+final.SkippedFiles != nFiles {
		t.Fatalf("load job across a leader kill and a certificate rotation: %s", jobLine(final, true))
	}
	for i, u := range append(append([]string(nil), c.coordURLs...), c.workerURLs...) {
		if i == killed {
			continue
		}
		waitServes(t, strings.TrimPrefix(u, "https://"), rotated)
	}
	live := c.coordURLs[(killed+1)%3]
	out, err := exec.Command(binary, "cat", "/data/f007", "--coordinator", live, "--tls-ca", files.CA, "--auth-token", e2eReadToken).Output()
	if err != nil || string(out) != string(sampleBytes("7", size)) {
		t.Fatalf("alluvium cat over TLS: %v (%d bytes)", err, len(out))
	}
}

// waitServes waits until addr serves the certificate of serial number sn.
func waitServes(t *testing.T, addr string, sn *big.Int) {
	t.Helper()
	eventually(t, addr+" to serve the rotated certificate", 15*time.Second, func() bool {
		s, err := servedSerial(addr)
		return err == nil && s.Cmp(sn) == 0
	})
}

// testRefusedWithoutTLS: plain HTTP, and TLS without the cluster CA, get
// nothing from coordinators and workers.
func testRefusedWithoutTLS(t *testing.T, c *chaosCluster) {
	t.Helper()
	for _, u := range []string{c.coordURLs[0], c.workerURLs[0]} {
		resp, err := http.Get(strings.Replace(u, "https://", "http://", 1) + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("plain HTTP to %s: %d, want 400 (an HTTP request to an HTTPS server)", u, resp.StatusCode)
			}
		}
		if _, err := http.Get(u + "/api/v1/health"); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("a client without the cluster CA reached %s: %v", u, err)
		}
	}
}

// testRolesAndAudit: through the processes, a read token reads and may not
// write (403), no token gets 401, the worker token serves the workers'
// registration, and the refusals and writes are in the audit logs, by
// name, with no token in any log.
func testRolesAndAudit(t *testing.T, c *chaosCluster, auditLog, logDir string) {
	t.Helper()
	do := func(method, url, token string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(`{"path":"/data","quota":"1GiB"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// The worker serves reads once its first policies came (a long poll).
	eventually(t, "a worker read with the read token", 15*time.Second, func() bool {
		code, _ := do("GET", c.workerURLs[0]+"/api/v1/data/data/f001", e2eReadToken)
		return code == http.StatusOK || code == http.StatusTemporaryRedirect
	})
	for _, tc := range []struct {
		method, url, token string
		want               int
	}{
		{"GET", c.coordURLs[1] + "/api/v1/mount", e2eReadToken, 200},
		{"POST", c.coordURLs[1] + "/api/v1/quota", e2eReadToken, 403},
		{"GET", c.coordURLs[1] + "/api/v1/mount", "no-such-token-0123456789", 401},
		{"GET", c.workerURLs[0] + "/api/v1/data/data/f001", "", 401},
		{"POST", c.workerURLs[0] + "/api/v1/internal/tasks/free", e2eReadToken, 403},
		{"GET", c.coordURLs[0] + "/metrics", "", 401},
		{"GET", c.coordURLs[0] + "/metrics", e2eReadToken, 200},
		{"GET", c.workerURLs[1] + "/metrics", "", 401},
		{"GET", c.workerURLs[1] + "/metrics", e2eReadToken, 200},
	} {
		if code, body := do(tc.method, tc.url, tc.token); code != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.url, code, body, tc.want)
		}
	}
	b, err := os.ReadFile(fmt.Sprintf(auditLog, "c2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"caller":"dashboards"`, `"status":403`, `"status":401`, `"route":"/api/v1/quota"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("c2's audit log lacks %s:\n%s", want, b)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		for _, tok := range []string{e2eAdminToken, e2eWorkerToken, e2eReadToken} {
			if strings.Contains(string(b), tok) {
				t.Errorf("%s holds a token", l)
			}
		}
	}
}

// TestRaftCAKeepsWorkerKeysOffRaft: coordinators whose certificates come
// from a Raft CA (--raft-tls-ca) and workers' from another, both CAs in
// --tls-ca: the cluster forms and serves HTTPS, and a worker's certificate
// (valid for the cluster's HTTPS) is refused on the Raft port while a
// coordinator's is accepted.
func TestRaftCAKeepsWorkerKeysOffRaft(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	raftCA, err := tlsconfig.NewCA("raft CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	coordFiles, err := raftCA.WriteFiles(filepath.Join(dir, "c"), "node", tlsconfig.DevHosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	workerFiles, err := testCA.WriteFiles(filepath.Join(dir, "w"), "node", tlsconfig.DevHosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(bundle, append(append([]byte{}, raftCA.PEM...), testCA.PEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 6)
	var peers, urls []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("c%d=127.0.0.1:%d", i+1, ports[3+i]))
		urls = append(urls, fmt.Sprintf("https://127.0.0.1:%d", ports[i]))
	}
	for i := range 3 {
		newChaosProc(t, dir, fmt.Sprintf("c%d", i+1), "coordinator", "--id", fmt.Sprintf("c%d", i+1), "--data-dir", t.TempDir(),
			"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[3+i]), "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--bootstrap", strings.Join(peers, ","), "--tls-cert", coordFiles.Cert, "--tls-key", coordFiles.Key,
			"--tls-ca", bundle, "--raft-tls-ca", coordFiles.CA)
	}
	trust, err := tlsconfig.Load(tlsconfig.Files{CA: bundle})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: tlsconfig.HTTPTransport(trust.Client()), Timeout: 5 * time.Second}
	eventually(t, "a leader, over HTTPS", 60*time.Second, func() bool {
		resp, err := hc.Get(urls[0] + "/api/v1/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h api.Health
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Leader != ""
	})
	raftAddr := fmt.Sprintf("127.0.0.1:%d", ports[3])
	for _, tc := range []struct {
		name     string
		files    tlsconfig.Files
		accepted bool
	}{{"a worker's certificate", workerFiles, false}, {"a coordinator's certificate", coordFiles, true}} {
		src, err := tlsconfig.Load(tlsconfig.Files{Cert: tc.files.Cert, Key: tc.files.Key, CA: bundle})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := tls.Dial("tcp", raftAddr, src.Client())
		if err == nil {
			// TLS 1.3: the server's refusal of a client certificate shows at
			// the first read; an accepted peer is read from, and times out.
			conn.SetReadDeadline(time.Now().Add(time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = nil
			}
		}
		if (err == nil) != tc.accepted {
			t.Errorf("%s on the Raft port: %v, want accepted=%v", tc.name, err, tc.accepted)
		}
	}
}
