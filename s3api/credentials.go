package s3api

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// Credentials are the access keys the API accepts, read from a file of one
// "ACCESS_KEY SECRET_KEY" pair a line (blank lines and lines starting with
// # are skipped). Reload reads the file again (the command wires it to
// SIGHUP); a file that fails to parse leaves the keys in force unchanged.
// Secret keys are never logged nor put in an error.
type Credentials struct {
	file string
	keys atomic.Pointer[map[string]string]
}

// LoadCredentials reads the credentials file.
func LoadCredentials(file string) (*Credentials, error) {
	c := &Credentials{file: file}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// StaticCredentials holds fixed keys (access key -> secret key): for tests
// and embedders. Reload keeps them.
func StaticCredentials(keys map[string]string) *Credentials {
	c := &Credentials{}
	m := make(map[string]string, len(keys))
	for k, v := range keys {
		m[k] = v
	}
	c.keys.Store(&m)
	return c
}

// Reload reads the file again and swaps the keys in whole.
func (c *Credentials) Reload() error {
	if c.file == "" {
		return nil
	}
	b, err := os.ReadFile(c.file)
	if err != nil {
		return fmt.Errorf("s3 credentials: %w", err)
	}
	keys, err := parseCredentials(b)
	if err != nil {
		return fmt.Errorf("s3 credentials %s: %w", c.file, err)
	}
	c.keys.Store(&keys)
	return nil
}

// parseCredentials parses the file's lines; errors name the line, never
// its content.
func parseCredentials(b []byte) (map[string]string, error) {
	keys := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"ACCESS_KEY SECRET_KEY\", found %d fields", n, len(f))
		}
		if _, dup := keys[f[0]]; dup {
			return nil, fmt.Errorf("line %d: access key %s appears twice", n, f[0])
		}
		keys[f[0]] = f[1]
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return keys, nil
}

// Secret returns the secret key of an access key.
func (c *Credentials) Secret(accessKey string) (string, bool) {
	m := c.keys.Load()
	if m == nil {
		return "", false
	}
	s, ok := (*m)[accessKey]
	return s, ok
}

// Len is the number of access keys in force.
func (c *Credentials) Len() int {
	if m := c.keys.Load(); m != nil {
		return len(*m)
	}
	return 0
}
