package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/internal/fusetest"
)

// The README's tour and the single-machine parts of docs/operating.md, run
// as written against `alluvium dev`, command by command: each fenced sh
// block is read from the doc itself, so that the doc and this test cannot
// drift apart. A block preceded by `<!-- docs-tour: skip, <reason> -->`
// is not run; one preceded by `<!-- docs-tour: needs fuse -->` runs where
// FUSE mounts work (internal/fusetest), and must with
// ALLUVIUM_REQUIRE_FUSE=1.
//
// What a command must answer comes from the doc, where it shows it, in the
// comment lines right after the command: `HTTP/1.1 200 OK` (the status), a
// header line (present, and for X-Alluvium-Served-By naming the leader), a
// JSON body with its status in parentheses (compared exactly), or other
// text the output must contain, in order ("..." matches anything). Where
// the doc shows nothing, a curl must answer 2xx (with JSON of the right
// shape from /api/v1) and a CLI verb must exit 0 and print what it is for.
//
// The substitutions are those a reader makes on another machine: the dev
// cluster's ports, free ports for the separate coordinators, temporary
// folders for /tmp/a1... and for /srv/datasets, the built binary for
// bin/alluvium, and ALLUVIUM_COORDINATOR for the CLI's default.
func TestDocsTour(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dev clusters and runs the docs")
	}
	for _, tool := range []string{"bash", "curl", "od", "head"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the docs use %s, which is not installed", tool)
		}
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("README", func(t *testing.T) {
		runDoc(t, filepath.Join(repo, "README.md"), repo, nil)
	})
	t.Run("operating", func(t *testing.T) {
		datasets := t.TempDir()
		for name, body := range map[string]string{
			"train/part-0.bin": strings.Repeat("x", 3<<20), "train/part-1.bin": "y",
			"lists/warm.txt": "# the files to keep warm\n/data/train/part-1.bin\n",
			"old/stale.csv":  "a,b\n1,2\n",
		} {
			writeTestFile(t, filepath.Join(datasets, name), body)
		}
		runDoc(t, filepath.Join(repo, "docs", "operating.md"), t.TempDir(), map[string]string{"/srv/datasets": datasets})
	})
}

func writeTestFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docCommand is one command of a doc's sh block and the comment lines
// that follow it.
type docCommand struct {
	line       int
	text       string
	expect     []string
	background bool
}

// docBlock is a fenced sh block.
type docBlock struct {
	line      int
	skip      string
	needsFuse bool
	cmds      []docCommand
}

// parseDoc reads the fenced sh blocks of a Markdown file.
func parseDoc(t *testing.T, path string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docBlock
	var cur *docBlock
	var cmd *docCommand // the last command, while comment lines follow it
	prev := ""
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```sh":
			blocks = append(blocks, docBlock{line: n})
			cur = &blocks[len(blocks)-1]
			if r, ok := strings.CutPrefix(prev, "<!-- docs-tour: skip"); ok {
				cur.skip = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(r, ","), "-->"))
			}
			cur.needsFuse = strings.HasPrefix(prev, "<!-- docs-tour: needs fuse")
		case cur != nil && trimmed == "```":
			cur, cmd = nil, nil
		case cur == nil:
		case trimmed == "":
			cmd = nil
		case strings.HasPrefix(trimmed, "#"):
			if cmd != nil {
				cmd.expect = append(cmd.expect, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
			}
		case cmd != nil && strings.HasSuffix(cmd.text, "\\"):
			cmd.text += "\n" + line
		default:
			cur.cmds = append(cur.cmds, docCommand{line: n, text: line})
			cmd = &cur.cmds[len(cur.cmds)-1]
		}
		if cmd != nil {
			cmd.background = strings.HasSuffix(strings.TrimSpace(cmd.text), "&")
		}
		if trimmed != "" {
			prev = trimmed
		}
	}
	if len(blocks) == 0 {
		t.Fatalf("%s has no sh blocks", path)
	}
	return blocks
}

// tour runs one doc's commands.
type tour struct {
	t        *testing.T
	doc      string
	dir      string            // where commands run
	env      []string          // their environment
	subst    map[string]string // literal text and its stand-in
	devURL   string
	banner   string
	bgCount  int // background processes started in the current block
	portsRe  *regexp.Regexp
	portsMap map[string]string
}

func runDoc(t *testing.T, doc, dir string, subst map[string]string) {
	port := devPort(t)
	tr := &tour{t: t, doc: filepath.Base(doc), dir: dir, subst: map[string]string{}, portsMap: map[string]string{}}
	for i := range 6 { // the dev cluster's coordinators and workers
		tr.portsMap[strconv.Itoa(19999+i)] = strconv.Itoa(port + i)
	}
	free := freePorts(t, 6) // the separate coordinators' raft and API ports
	for i := range 3 {
		tr.portsMap[strconv.Itoa(7001+i)] = strconv.Itoa(free[i])
		tr.portsMap[strconv.Itoa(8001+i)] = strconv.Itoa(free[3+i])
		tr.subst[fmt.Sprintf("/tmp/a%d", i+1)] = t.TempDir()
	}
	tr.portsRe = regexp.MustCompile(`\b(19999|2000[0-4]|700[1-3]|800[1-3])\b`)
	for k, v := range subst {
		tr.subst[k] = v
	}
	// The docs show dev's state under /tmp, the usual temporary folder.
	tr.subst["/tmp/alluvium-dev-"] = filepath.Join(os.TempDir(), "alluvium-dev-")
	tr.subst["/tmp/alluvium-mnt"] = t.TempDir() // a FUSE mount point
	tr.devURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALLUVIUM_") {
			tr.env = append(tr.env, kv)
		}
	}
	tr.env = append(tr.env, "ALLUVIUM_COORDINATOR="+tr.devURL)
	tr.banner = startTourDev(t, port)
	ran := 0
	defer func() { t.Logf("%s: ran %d commands", tr.doc, ran) }()
	for _, b := range parseDoc(t, doc) {
		if b.skip != "" {
			t.Logf("%s:%d: not run: %s", tr.doc, b.line, b.skip)
			continue
		}
		if b.needsFuse && !fuseForTour(t, tr.doc, b.line) {
			continue
		}
		tr.bgCount = 0
		for _, c := range b.cmds {
			tr.run(c)
			ran++
			if t.Failed() {
				return // later commands build on this one
			}
		}
	}
}

// fuseForTour says whether a block that mounts with FUSE can run here:
// it needs FUSE and python3; without them it is not run, unless
// ALLUVIUM_REQUIRE_FUSE=1, when the test fails.
func fuseForTour(t *testing.T, doc string, line int) bool {
	err := fusetest.Problem()
	if _, lookErr := exec.LookPath("python3"); err == nil && lookErr != nil {
		err = lookErr
	}
	switch {
	case err == nil:
		return true
	case fusetest.Required():
		t.Errorf("%s:%d: a FUSE block must run here (%s=1): %v", doc, line, fusetest.RequireEnv, err)
	default:
		t.Logf("%s:%d: not run: it mounts with FUSE, and %v", doc, line, err)
	}
	return false
}

// startTourDev starts `alluvium dev` on port with its state in a temporary
// folder, and returns its banner once it is up. At the end of the test it
// is stopped as Ctrl-C stops it.
func startTourDev(t *testing.T, port int) string {
	t.Helper()
	cmd := exec.Command(binary, "dev", "--port", strconv.Itoa(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
				banner <- b.String()
				b.Reset()
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("dev did not stop within 30s of SIGINT")
		}
	})
	select {
	case b := <-banner:
		return b
	case err := <-exited:
		t.Fatalf("dev exited before it was up: %v\n%s", err, stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("dev was not up within 90s:\n%s", stderr.String())
	}
	return ""
}

// substitute makes a doc's command runnable here.
func (tr *tour) substitute(s string) string {
	s = tr.portsRe.ReplaceAllStringFunc(s, func(p string) string { return tr.portsMap[p] })
	for k, v := range tr.subst {
		s = strings.ReplaceAll(s, k, v)
	}
	s = regexp.MustCompile(`(^|\n|\s)(bin/)?alluvium\s`).ReplaceAllStringFunc(s, func(m string) string {
		lead := m[:len(m)-len(strings.TrimLeft(m, " \t\n"))]
		return lead + binary + " "
	})
	return s
}

func (tr *tour) run(c docCommand) {
	t := tr.t
	where := fmt.Sprintf("%s:%d: %s", tr.doc, c.line, strings.TrimSpace(c.text))
	if strings.TrimSpace(c.text) == "make run" {
		tr.checkText(where, tr.banner, c.expect)
		return
	}
	text := tr.substitute(c.text)
	if c.background {
		tr.startBackground(where, strings.TrimSuffix(strings.TrimSpace(text), "&"))
		return
	}
	// After processes started in the background, a command is tried until
	// it passes, as a reader waits for them to come up.
	deadline := time.Now()
	if tr.bgCount > 0 {
		deadline = deadline.Add(45 * time.Second)
	}
	for {
		problems := tr.try(text, c.expect)
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s\n  %s", where, strings.Join(problems, "\n  "))
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// try runs a command once and lists what is wrong with its answer.
func (tr *tour) try(text string, expect []string) []string {
	curl := strings.HasPrefix(strings.TrimSpace(text), "curl ") && !strings.Contains(text, "|")
	if curl {
		text = strings.Replace(text, "curl ", `curl -w '\n%{http_code}' `, 1)
	}
	cmd := exec.Command("bash", "-o", "pipefail", "-c", text)
	cmd.Dir, cmd.Env = tr.dir, tr.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return []string{err.Error()}
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return []string{"did not end within 90s"}
	}
	out := stdout.String()
	if !curl {
		if err != nil {
			return []string{fmt.Sprintf("%v\n%s%s", err, out, stderr.String())}
		}
		if strings.TrimSpace(out) == "" {
			return []string{"printed nothing"}
		}
		return tr.checkCLI(text, out, expect)
	}
	if err != nil {
		return []string{fmt.Sprintf("curl: %v: %s", err, stderr.String())}
	}
	i := strings.LastIndex(out, "\n")
	code, _ := strconv.Atoi(out[i+1:])
	return tr.checkHTTP(text, code, out[:i], expect)
}

// startBackground starts a command that ends with & in the doc; it is
// stopped (SIGTERM, as a shell's kill) at the end of the test.
func (tr *tour) startBackground(where, text string) {
	t := tr.t
	cmd := exec.Command("bash", "-c", "exec "+text)
	cmd.Dir, cmd.Env = tr.dir, tr.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	tr.bgCount++
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s: did not stop within 30s of SIGTERM:\n%s", where, out.String())
		}
		if t.Failed() {
			t.Logf("%s printed:\n%s", where, out.String())
		}
	})
}

// checkText checks that got shows every expected line, in order, each
// with "..." matching anything and runs of spaces as one.
func (tr *tour) checkText(where, got string, expect []string) {
	if problems := textProblems(got, tr.expandAll(expect)); len(problems) > 0 {
		tr.t.Errorf("%s\n  %s\ngot:\n%s", where, strings.Join(problems, "\n  "), got)
	}
}

func (tr *tour) expandAll(expect []string) []string {
	out := make([]string, 0, len(expect))
	for _, e := range expect {
		out = append(out, tr.substitute(e))
	}
	return out
}

var spaces = regexp.MustCompile(`\s+`)

func textProblems(got string, expect []string) []string {
	lines := strings.Split(got, "\n")
	at := 0
	var problems []string
	for _, e := range expect {
		e = spaces.ReplaceAllString(strings.TrimSpace(e), " ")
		if e == "..." || e == "" {
			continue
		}
		re := regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(e), `\.\.\.`, ".*"))
		found := false
		for ; at < len(lines); at++ {
			if re.MatchString(spaces.ReplaceAllString(lines[at], " ")) {
				found, at = true, at+1
				break
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("does not show %q (in this order)", e))
		}
	}
	return problems
}

// cliShows is what a CLI verb must print when the doc shows nothing.
var cliShows = map[string]string{
	"cat /sample/hello.txt": "Hello from Alluvium", "nodes list": "LIVE", "coordinators": "leader",
	"mount list": "/sample", "status": "Workers: 3 LIVE of 3", "job list": "SUCCEEDED",
	"file-index list": "/sample/", "--wait": "Job State: SUCCEEDED", "--progress": "Job State:",
	"health": "ok", "snapshot inspect": "sha256",
}

func (tr *tour) checkCLI(text, out string, expect []string) []string {
	if len(expect) > 0 {
		return textProblems(out, tr.expandAll(expect))
	}
	for verb, want := range cliShows {
		if strings.Contains(text, " "+verb) && !strings.Contains(out, want) {
			return []string{fmt.Sprintf("does not show %q:\n%s", want, out)}
		}
	}
	return nil
}

var (
	statusLine = regexp.MustCompile(`^HTTP/[0-9.]+ (\d{3})`)
	headerLine = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*): (.+)$`)
	jsonLine   = regexp.MustCompile(`^([{\[].*[}\]])\s*(?:\((\d{3})\))?$`)
)

// apiShapes are the fields an /api/v1 answer must have when the doc
// shows nothing.
var apiShapes = map[string][]string{
	"/api/v1/coordinators": {"leader", "term", "servedBy", "results"},
	"/api/v1/health":       {"status", "id", "leader", "state"},
	"/api/v1/mount":        {"results"},
	"/api/v1/stats":        {"id", "pages", "usedBytes", "capacityBytes"},
}

func (tr *tour) checkHTTP(text string, code int, body string, expect []string) []string {
	var problems []string
	wantCode, wantJSON := 0, ""
	headers := map[string]string{}
	if strings.Contains(text, " -si ") || strings.Contains(text, " -i ") {
		head, rest, _ := strings.Cut(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n")
		for _, l := range strings.Split(head, "\n")[1:] {
			if k, v, ok := strings.Cut(l, ": "); ok {
				headers[strings.ToLower(k)] = v
			}
		}
		body = rest
	}
	for _, e := range tr.expandAll(expect) {
		switch {
		case statusLine.MatchString(e):
			wantCode, _ = strconv.Atoi(statusLine.FindStringSubmatch(e)[1])
		case jsonLine.MatchString(e):
			m := jsonLine.FindStringSubmatch(e)
			wantJSON, wantCode = m[1], 200
			if m[2] != "" {
				wantCode, _ = strconv.Atoi(m[2])
			}
		case headerLine.MatchString(e):
			m := headerLine.FindStringSubmatch(e)
			got, ok := headers[strings.ToLower(m[1])]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("no %s header", m[1]))
			case strings.EqualFold(m[1], "X-Alluvium-Served-By") && got != tr.leader():
				problems = append(problems, fmt.Sprintf("%s: %s, but %s leads", m[1], got, tr.leader()))
			case !strings.EqualFold(m[1], "X-Alluvium-Served-By") && got != m[2]:
				problems = append(problems, fmt.Sprintf("%s: %q, want %q", m[1], got, m[2]))
			}
		default:
			problems = append(problems, textProblems(body, []string{e})...)
		}
	}
	switch {
	case wantCode != 0 && code != wantCode:
		problems = append(problems, fmt.Sprintf("status %d, want %d: %s", code, wantCode, body))
	case wantCode == 0 && (code < 200 || code > 299):
		problems = append(problems, fmt.Sprintf("status %d: %s", code, body))
	}
	if wantJSON != "" && !sameJSON(wantJSON, body) {
		problems = append(problems, fmt.Sprintf("answered %s, want %s", strings.TrimSpace(body), wantJSON))
	}
	if wantJSON == "" && strings.Contains(text, "/api/v1/") && !strings.Contains(text, "/api/v1/data/") {
		problems = append(problems, shapeProblems(text, body)...)
	}
	return problems
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// shapeProblems checks that an /api/v1 answer is a JSON object, with the
// route's fields for a GET.
func shapeProblems(text, body string) []string {
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return []string{fmt.Sprintf("not a JSON object (%v): %s", err, body)}
	}
	route := regexp.MustCompile(`/api/v1/[a-z_/-]*`).FindString(text)
	if strings.Contains(text, " -X ") || strings.Contains(text, " -d ") {
		return nil // the shapes are those of GETs
	}
	for _, f := range apiShapes[route] {
		if _, ok := v[f]; !ok {
			return []string{fmt.Sprintf("%s answered without %q: %s", route, f, body)}
		}
	}
	if route == "/api/v1/health" && v["status"] != "ok" {
		return []string{"unhealthy: " + body}
	}
	return nil
}

// leader is the dev cluster's leader as its first coordinator sees it.
func (tr *tour) leader() string {
	var h struct{ Leader string }
	if code, _, err := getJSON(tr.devURL+"/api/v1/health", &h); err != nil || code != 200 {
		return fmt.Sprintf("(unknown: %d %v)", code, err)
	}
	return h.Leader
}
