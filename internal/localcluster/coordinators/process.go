package coordinators

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/coordinator"
)

// Process is one server process of a local cluster (a coordinator, or a
// peer system a benchmark compares with).
type Process struct {
	name string
	cmd  *exec.Cmd
	log  string // file holding its stdout and stderr
	done chan struct{}
	err  error // set when done is closed
}

// StartProcess starts bin with args, its output going to logPath. On Linux
// the process gets its own process group (so a terminal's Ctrl-C reaches
// only this one, which stops it in order) and is killed by the kernel if
// this process dies.
func StartProcess(name, bin, logPath string, args ...string) (*Process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports an error, with the last lines of its output, if the
// process has ended.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, p.err, p.log, tail(p.log, 20))
	default:
		return nil
	}
}

// Stop asks the process to end (SIGTERM), and kills it after grace.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// processArgs is the command line of a coordinator process.
func (s *Set) processArgs(m *Member, peers []coordinator.Peer, joinURL string) []string {
	args := []string{"coordinator", "--id", m.ID, "--data-dir", m.DataDir, "--raft-addr", m.RaftAddr, "--http-addr", m.HTTPAddr}
	if len(peers) > 0 {
		var ps []string
		for _, p := range peers {
			ps = append(ps, p.ID+"="+p.Address)
		}
		args = append(args, "--bootstrap", strings.Join(ps, ","))
	}
	if joinURL != "" {
		args = append(args, "--join", joinURL)
	}
	if s.cfg.Token != "" {
		args = append(args, "--auth-token", s.cfg.Token)
	}
	if s.cfg.TLS != nil {
		f := s.cfg.TLS.Files()
		args = append(args, "--tls-cert", f.Cert, "--tls-key", f.Key, "--tls-ca", f.CA)
	}
	return append(args, s.cfg.Args...)
}

// Exited reports the first coordinator process that has ended.
func (s *Set) Exited() error {
	for _, m := range s.Members {
		if m.Process != nil {
			if err := m.Process.Exited(); err != nil {
				return err
			}
		}
	}
	return nil
}
