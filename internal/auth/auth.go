package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
)

// Role is what a token may do.
type Role string

// The roles.
const (
	Admin  Role = "admin"
	Read   Role = "read"
	Worker Role = "worker"
)

// AdminTokenName names the single --auth-token in the audit log.
const AdminTokenName = "auth-token"

// MinTokenLength is the shortest token a file may hold.
const MinTokenLength = 16

// Allows reports whether a token of role r may call what needs role need.
func (r Role) Allows(need Role) bool {
	switch r {
	case Admin:
		return true
	case Worker:
		return need == Worker || need == Read
	case Read:
		return need == Read
	}
	return false
}

// Need is the role a request of method to route (a route pattern or a
// path) needs: worker for the internal routes between nodes, read for the
// other GETs and HEADs, admin for the rest.
func Need(method, route string) Role {
	if strings.HasPrefix(route, "/api/v1/internal/") {
		return Worker
	}
	if method == http.MethodGet || method == http.MethodHead {
		return Read
	}
	return Admin
}

type entry struct {
	hash [sha256.Size]byte
	role Role
	name string
}

// Tokens is the token table of a node: the tokens of a file (reloadable)
// and the single admin token. The zero value admits nobody.
type Tokens struct {
	path  string
	admin string
	cur   atomic.Pointer[[]entry]
}

// Load reads the token file at path ("" for none) and adds admin (the
// --auth-token, "" for none) as an admin token named AdminTokenName.
func Load(path, admin string) (*Tokens, error) {
	t := &Tokens{path: path, admin: admin}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Reload reads the file again; on error the tokens in force stay.
func (t *Tokens) Reload() error {
	var es []entry
	if t.admin != "" {
		es = append(es, entry{hash: sha256.Sum256([]byte(t.admin)), role: Admin, name: AdminTokenName})
	}
	if t.path != "" {
		b, err := os.ReadFile(t.path)
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		parsed, err := parse(b)
		if err != nil {
			return fmt.Errorf("auth: %s: %w", t.path, err)
		}
		es = append(es, parsed...)
	}
	t.cur.Store(&es)
	return nil
}

// Len is how many tokens are in force.
func (t *Tokens) Len() int { return len(*t.cur.Load()) }

// parse reads a token file: "TOKEN ROLE [NAME]" a line; blank lines and
// lines starting with # are skipped. A line without a name is named
// "<role>@<line>". Errors name lines, never tokens.
func parse(b []byte) ([]entry, error) {
	var (
		es   []entry
		errs []error
		seen = map[[sha256.Size]byte]bool{}
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		e, err := parseLine(f, n)
		if err == nil && seen[e.hash] {
			err = fmt.Errorf("line %d: the token of an earlier line again", n)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen[e.hash] = true
		es = append(es, e)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return es, errors.Join(errs...)
}

func parseLine(f []string, n int) (entry, error) {
	if len(f) < 2 || len(f) > 3 {
		return entry{}, fmt.Errorf("line %d: want TOKEN ROLE [NAME]", n)
	}
	if len(f[0]) < MinTokenLength {
		return entry{}, fmt.Errorf("line %d: a token must be at least %d characters", n, MinTokenLength)
	}
	role := Role(f[1])
	if role != Admin && role != Read && role != Worker {
		return entry{}, fmt.Errorf("line %d: role %q: want admin, read or worker", n, f[1])
	}
	name := fmt.Sprintf("%s@%d", role, n)
	if len(f) == 3 {
		name = f[2]
	}
	return entry{hash: sha256.Sum256([]byte(f[0])), role: role, name: name}, nil
}

// Identify finds the token of r's "Authorization: Bearer" header. It
// compares against every token, in constant time each, whatever matches.
func (t *Tokens) Identify(r *http.Request) (name string, role Role, ok bool) {
	got, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		return "", "", false
	}
	h := sha256.Sum256([]byte(got))
	for _, e := range *t.cur.Load() {
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 {
			name, role, ok = e.name, e.role, true
		}
	}
	return name, role, ok
}

// Decide is the decision for r calling method+route: the caller's name,
// and 0, or 401 (no valid token) or 403 (a valid one lacking the role)
// with a reason that never holds the token.
func (t *Tokens) Decide(r *http.Request, method, route string) (caller string, status int, reason string) {
	name, role, ok := t.Identify(r)
	if !ok {
		if r.Header.Get("Authorization") == "" {
			return "", http.StatusUnauthorized, "a bearer token is required (Authorization: Bearer <token>)"
		}
		return "", http.StatusUnauthorized, "invalid bearer token"
	}
	need := Need(method, route)
	if !role.Allows(need) {
		return name, http.StatusForbidden, fmt.Sprintf("token %q has role %s; %s %s needs %s", name, role, method, route, need)
	}
	return name, 0, ""
}
