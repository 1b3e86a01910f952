package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// snapshotPath is the coordinators' backup route (httpapi.PathSnapshot).
const snapshotPath = "/api/v1/internal/snapshot"

// snapshotFormat names the format in a snapshot file's header.
const snapshotFormat = "alluvium-snapshot"

// ErrBadSnapshot reports a snapshot file, or a download of one, that is
// truncated, corrupted or not a snapshot at all.
var ErrBadSnapshot = errors.New("bad snapshot file")

// SnapshotInfo is the header of a snapshot file.
type SnapshotInfo = api.SnapshotInfo

// SaveSnapshot downloads a snapshot file of the cluster's replicated state
// (as of a linearizable read on the leader; with WithStaleReads, the
// answering coordinator's own replica, which works without a leader) and
// writes it to w, checking its size and checksum on the way: an error means
// w holds no usable file. The download is bounded by ctx only, not by the
// client's per-attempt timeout, since snapshots can be large.
func (c *Client) SaveSnapshot(ctx context.Context, w io.Writer) (SnapshotInfo, error) {
	resp, err := c.snapshotCall(ctx, http.MethodGet, nil)
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer resp.Body.Close()
	info, err := copySnapshot(w, resp.Body)
	if err != nil {
		return info, fmt.Errorf("client: snapshot download: %w", err)
	}
	return info, nil
}

// RestoreSnapshot sends a snapshot file to the leader, which installs it on
// every coordinator, and returns the file's header. It replaces the whole
// replicated state. A file that fails the coordinator's checks is refused
// with a 400 (*Error) and nothing changes. The file is read from its start
// again for each attempt, so it is sent again after a coordinator without a
// leader refuses it.
func (c *Client) RestoreSnapshot(ctx context.Context, file io.ReadSeeker) (SnapshotInfo, error) {
	resp, err := c.snapshotCall(ctx, http.MethodPost, file)
	if err != nil {
		return SnapshotInfo{}, err
	}
	var info SnapshotInfo
	err = decode(resp, call{method: http.MethodPost, path: snapshotPath, out: &info})
	return info, err
}

// VerifySnapshot reads a snapshot file and checks its header, size and
// checksum (not the records within: the coordinator does that on restore).
func VerifySnapshot(r io.Reader) (SnapshotInfo, error) {
	return copySnapshot(io.Discard, r)
}

// snapshotCall sends one snapshot request with failover, as do does for
// JSON calls: the next coordinator after a refused connection or a 503
// saying there was no leader. It returns a 2xx answer, unread.
func (c *Client) snapshotCall(ctx context.Context, method string, body io.ReadSeeker) (*http.Response, error) {
	read := method == http.MethodGet
	target := snapshotPath
	if read && c.stale {
		target += "?" + url.Values{"stale": {"true"}}.Encode()
	}
	var resp *http.Response
	err := c.failover(ctx, method, snapshotPath, read, func(base string) error {
		var err error
		// A large file takes its time: ctx bounds the call.
		resp, err = c.snapshotOnce(ctx, c.untimed, method, base+target, body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// snapshotOnce sends a snapshot request to one coordinator, following its
// redirects to the leader with the file from its start.
func (c *Client) snapshotOnce(ctx context.Context, hc *http.Client, method, target string, body io.ReadSeeker) (*http.Response, error) {
	for hop := 0; ; hop++ {
		var rd io.Reader
		if body != nil {
			if _, err := body.Seek(0, io.SeekStart); err != nil {
				return nil, fmt.Errorf("client: rewind the snapshot file: %w", err)
			}
			rd = io.NopCloser(body) // the transport closes a Closer; the next attempt needs the file
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", method, target, err)
		}
		req.Header.Set("Accept", "application/octet-stream, application/json")
		req.Header.Set("User-Agent", userAgent)
		if body != nil {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, &transportError{err}
		}
		if (resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect) && hop < maxRedirects {
			loc, err := resp.Location()
			jsonhttp.Drain(resp)
			if err != nil {
				return nil, fmt.Errorf("client: %s %s: redirect without a usable Location: %w", method, target, err)
			}
			target = loc.String()
			continue
		}
		if resp.StatusCode/100 == 2 {
			return resp, nil
		}
		return nil, decode(resp, call{method: method, path: snapshotPath})
	}
}

// copySnapshot copies a snapshot file from r to w, checking it as it goes.
func copySnapshot(w io.Writer, r io.Reader) (SnapshotInfo, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
			return SnapshotInfo{}, fmt.Errorf("%w: no header line", ErrBadSnapshot)
		}
		return SnapshotInfo{}, err
	}
	var info SnapshotInfo
	if err := json.NewDecoder(bytes.NewReader(line)).Decode(&info); err != nil || info.Format != snapshotFormat {
		return SnapshotInfo{}, fmt.Errorf("%w: not an Alluvium snapshot (no %q header)", ErrBadSnapshot, snapshotFormat)
	}
	if sum, err := hex.DecodeString(info.SHA256); err != nil || len(sum) != sha256.Size || info.Size <= 0 {
		return info, fmt.Errorf("%w: the header's size %d or sha256 %q is unusable", ErrBadSnapshot, info.Size, info.SHA256)
	}
	if _, err := w.Write(line); err != nil {
		return info, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(br, info.Size))
	if err != nil {
		return info, err
	}
	if n < info.Size {
		return info, fmt.Errorf("%w: truncated: %d of %d bytes", ErrBadSnapshot, n, info.Size)
	}
	if _, err := br.ReadByte(); err == nil {
		return info, fmt.Errorf("%w: bytes follow the body's %d", ErrBadSnapshot, info.Size)
	} else if !errors.Is(err, io.EOF) {
		return info, err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != info.SHA256 {
		return info, fmt.Errorf("%w: checksum mismatch: the body's sha256 is %s, the header says %s", ErrBadSnapshot, sum, info.SHA256)
	}
	return info, nil
}
