package coordinator

// Backup and restore of the replicated state.
//
// A snapshot file is one line of JSON, the header (SnapshotInfo: format,
// version, the Raft index and term the state reflects, the body's size and
// sha256), then the body: exactly Size bytes of the state machine's own
// snapshot stream (fsm.Snapshot.WriteTo).
//
// Save (SaveSnapshot): the leader confirms with a quorum that it still
// leads (ConsistentRead), so that every write acknowledged before the call
// is in its state, and captures the state machine (fsm.FSM.Snapshot: a
// copy-on-write view taken under the lock, so writes go on meanwhile). The
// view is written twice: once into sha256 to fill in the header, then after
// the header to w. The body is deterministic, so both passes give the same
// bytes, and nothing is spooled to disk. SaveLocalSnapshot does the same
// from this node's own replica, without a quorum: the way to rescue the
// state of a cluster that lost its majority.
//
// Restore (RestoreSnapshot), on the leader: the header is checked, the body
// is read while it is hashed and decoded into a scratch state machine, and
// the file is refused (ErrInvalidSnapshot, nothing changed) unless the size,
// the checksum, the format and every record are right. Raft panics when a
// restored snapshot cannot be read back, so only a body this process has
// just read back may reach it. The scratch state then gets this cluster's
// coordinator table (the addresses in the file are those of the cluster
// that was backed up: kept, followers would forward to them), and raft.Restore
// installs it as a user snapshot: the leader writes it to its snapshot store
// under an index above both its own last index and the file's, loads it
// into its state machine, and followers, finding a hole in the leader's log,
// are sent the snapshot and load it too; Restore returns once a no-op entry
// after it is committed by a quorum. Last, a no-op policy change is
// committed, so that the policy version moves past every version workers
// have seen and they pull the restored mounts and policies.
//
// What is in a snapshot is the replicated state: mounts, quotas, TTLs,
// priorities, cache-filter rules, worker membership, jobs and the file
// index. The workers' cached data is not: it is a cache, refilled from the
// UFS; workers that still run keep heartbeating and are known from the
// restored membership, others register again.

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
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/hashicorp/raft"
)

// Snapshot file constants.
const (
	// SnapshotFormat names the format in every snapshot file's header.
	SnapshotFormat = "alluvium-snapshot"
	// SnapshotFileVersion is the version of the file layout written; files of
	// a newer version are refused.
	SnapshotFileVersion = 1
	// maxSnapshotHeader bounds the header line.
	maxSnapshotHeader = 4 << 10
)

// ErrInvalidSnapshot reports a snapshot file that is not one, or is
// truncated or corrupted. It matches fsm.ErrInvalid, so that the API
// answers 400.
var ErrInvalidSnapshot = fmt.Errorf("%w snapshot file", fsm.ErrInvalid)

// SnapshotInfo is the header of a snapshot file.
type SnapshotInfo = api.SnapshotInfo

// SaveSnapshot writes a snapshot file of the replicated state to w: the
// state as of a linearizable read on the leader. On a follower it fails at
// once with a *NotLeaderError. ctx bounds the leadership check only.
func (c *Coordinator) SaveSnapshot(ctx context.Context, w io.Writer) (SnapshotInfo, error) {
	if err := c.ConsistentRead(ctx); err != nil {
		return SnapshotInfo{}, err
	}
	return c.writeSnapshotFile(w)
}

// SaveLocalSnapshot writes a snapshot file of this node's own replica to w,
// on any node and without a quorum; it may lag the leader.
func (c *Coordinator) SaveLocalSnapshot(w io.Writer) (SnapshotInfo, error) {
	return c.writeSnapshotFile(w)
}

func (c *Coordinator) writeSnapshotFile(w io.Writer) (SnapshotInfo, error) {
	snap := c.fsm.Snapshot()
	h := sha256.New()
	size, err := snap.WriteTo(h)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("coordinator: snapshot: %w", err)
	}
	info := SnapshotInfo{Format: SnapshotFormat, Version: SnapshotFileVersion,
		Index: snap.LastIndex(), Term: c.raft.CurrentTerm(), Size: size,
		SHA256: hex.EncodeToString(h.Sum(nil)), Coordinator: c.cfg.ID, CreatedAt: time.Now().UTC()}
	line, err := json.Marshal(info)
	if err != nil {
		return SnapshotInfo{}, err
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return info, err
	}
	// The second pass must give the bytes the first one hashed; a hasher
	// beside w proves it, so that a bug there can never produce a file
	// that its own header calls corrupt without an error here.
	h2 := sha256.New()
	n, err := snap.WriteTo(io.MultiWriter(w, h2))
	if err != nil {
		return info, err
	}
	if n != size || hex.EncodeToString(h2.Sum(nil)) != info.SHA256 {
		return info, fmt.Errorf("coordinator: snapshot: the state machine wrote different bytes twice (%d, then %d)", size, n)
	}
	return info, nil
}

// readSnapshotHeader reads and checks the header line of a snapshot file
// from br, leaving br at the body.
func readSnapshotHeader(br *bufio.Reader) (SnapshotInfo, error) {
	var line []byte
	for {
		b, err := br.ReadSlice('\n')
		line = append(line, b...)
		if len(line) > maxSnapshotHeader {
			return SnapshotInfo{}, fmt.Errorf("%w: the header is longer than %d bytes", ErrInvalidSnapshot, maxSnapshotHeader)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return SnapshotInfo{}, fmt.Errorf("%w: the file ends before its header does", ErrInvalidSnapshot)
		}
		return SnapshotInfo{}, err
	}
	var info SnapshotInfo
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&info); err != nil || info.Format != SnapshotFormat {
		return SnapshotInfo{}, fmt.Errorf("%w: not an Alluvium snapshot (no %q header)", ErrInvalidSnapshot, SnapshotFormat)
	}
	if info.Version < 1 || info.Version > SnapshotFileVersion {
		return info, fmt.Errorf("%w: version %d is not supported (this build reads up to %d)", ErrInvalidSnapshot, info.Version, SnapshotFileVersion)
	}
	if sum, err := hex.DecodeString(info.SHA256); err != nil || len(sum) != sha256.Size {
		return info, fmt.Errorf("%w: the header's sha256 %q is not a checksum", ErrInvalidSnapshot, info.SHA256)
	}
	if info.Size <= 0 {
		return info, fmt.Errorf("%w: the header's size %d is not a body's", ErrInvalidSnapshot, info.Size)
	}
	return info, nil
}

// readErrors passes reads through and keeps the first error that is not
// EOF: a broken upload, or a body over the API's bound, is not a corrupt
// file, and must be reported as what it is.
type readErrors struct {
	r   io.Reader
	n   int64
	err error
}

func (e *readErrors) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// VerifySnapshot reads a whole snapshot file from r and checks it: the
// header, the body's size and checksum, nothing after the body, and every
// record of the body. It returns the header and the state the file holds.
func VerifySnapshot(r io.Reader) (SnapshotInfo, *fsm.FSM, error) {
	src := &readErrors{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	info, err := readSnapshotHeader(br)
	if err != nil {
		return info, nil, firstErr(src.err, err)
	}
	h := sha256.New()
	body := &readErrors{r: io.TeeReader(io.LimitReader(br, info.Size), h)}
	state := fsm.New()
	restoreErr := state.Restore(body)
	// Restore stops at the end record: read what follows, up to Size, so
	// that the checksum covers the whole body.
	_, _ = io.Copy(io.Discard, body)
	if src.err != nil {
		return info, nil, src.err
	}
	if body.n < info.Size {
		return info, nil, fmt.Errorf("%w: the body is truncated: %d of %d bytes", ErrInvalidSnapshot, body.n, info.Size)
	}
	if extra, _ := io.Copy(io.Discard, io.LimitReader(br, 1<<20)); extra > 0 {
		return info, nil, fmt.Errorf("%w: bytes follow the body's %d", ErrInvalidSnapshot, info.Size)
	}
	if src.err != nil {
		return info, nil, src.err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != info.SHA256 {
		return info, nil, fmt.Errorf("%w: checksum mismatch: the body's sha256 is %s, the header says %s", ErrInvalidSnapshot, sum, info.SHA256)
	}
	if restoreErr != nil {
		return info, nil, fmt.Errorf("%w: %v", ErrInvalidSnapshot, restoreErr)
	}
	if got := state.AppliedIndex(); got != info.Index {
		return info, nil, fmt.Errorf("%w: the header says index %d, the body holds %d", ErrInvalidSnapshot, info.Index, got)
	}
	return info, state, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// RestoreSnapshot verifies the snapshot file read from r and installs its
// state on every coordinator through Raft (see the top of this file). It
// must run on the leader; a file that fails verification is refused with
// ErrInvalidSnapshot and changes nothing. ctx bounds the Raft steps after
// the file is read (ApplyTimeout when it has no deadline).
func (c *Coordinator) RestoreSnapshot(ctx context.Context, r io.Reader) (SnapshotInfo, error) {
	if !c.leadership.ready() {
		return SnapshotInfo{}, c.notLeader()
	}
	info, state, err := VerifySnapshot(r)
	if err != nil {
		return info, err
	}
	if err := c.adoptCoordinators(state); err != nil {
		return info, err
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	if err := c.installSnapshot(ctx, state.Snapshot(), info); err != nil {
		return info, err
	}
	c.log.Info("restored a snapshot", "index", info.Index, "term", info.Term, "bytes", info.Size,
		"taken_by", info.Coordinator, "taken_at", info.CreatedAt)
	// Workers take policies only with a version above theirs: move it past
	// every version of this cluster and of the backed-up one. Setting the
	// default cache-filter rule to itself changes nothing else.
	_, err = c.Apply(ctx, &fsm.SetDefaultFilter{Rule: c.fsm.Filter().Default})
	if err != nil {
		return info, fmt.Errorf("the snapshot is restored, but announcing the new policies to workers failed (they pick them up at the next policy change): %w", err)
	}
	return info, nil
}

// adoptCoordinators replaces the coordinator table of a restored state
// with this cluster's: the addresses are those of the running nodes, not of
// the cluster that was backed up.
func (c *Coordinator) adoptCoordinators(state *fsm.FSM) error {
	want := map[string]fsm.Coordinator{}
	for _, co := range c.fsm.Coordinators() {
		want[co.ID] = co
	}
	self := c.selfInfo()
	want[self.ID] = self
	var cmds []fsm.Command
	for _, co := range state.Coordinators() {
		if _, ok := want[co.ID]; !ok {
			cmds = append(cmds, &fsm.RemoveCoordinator{ID: co.ID})
		}
	}
	for _, co := range c.fsm.Coordinators() {
		cmds = append(cmds, &fsm.SetCoordinator{Coordinator: want[co.ID]})
	}
	if _, ok := c.fsm.Coordinator(self.ID); !ok {
		cmds = append(cmds, &fsm.SetCoordinator{Coordinator: self})
	}
	index := state.AppliedIndex() // coordinator changes leave the index and policy version as they are
	for _, cmd := range cmds {
		data, err := fsm.Encode(cmd)
		if err != nil {
			return err
		}
		if err, ok := state.Apply(index, data).(error); ok {
			return fmt.Errorf("coordinator: restore: coordinator table: %w", err)
		}
	}
	return nil
}

// installSnapshot hands a verified state to raft.Restore, streaming it: a
// first pass counts its bytes, which Raft needs up front.
func (c *Coordinator) installSnapshot(ctx context.Context, snap *fsm.Snapshot, info SnapshotInfo) error {
	size, err := snap.WriteTo(io.Discard)
	if err != nil {
		return err
	}
	dl, _ := ctx.Deadline()
	timeout := time.Until(dl)
	if timeout <= 0 {
		return fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := snap.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	// The snapshot's index is the file's: Raft installs it above both this
	// log's last index and that, so that later entries never reuse an
	// index the restored state (its policy version, say) already names.
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: info.Index, Term: info.Term, Size: size}
	err = c.raft.Restore(meta, pr, timeout)
	pr.CloseWithError(errors.New("restore ended"))
	<-done
	if err != nil {
		return fmt.Errorf("coordinator: restore: %w", c.mapRaftError(err))
	}
	return nil
}

// WriteSnapshotFile is SaveSnapshot (SaveLocalSnapshot when stale) for
// package httpapi, which knows nothing of this package's types.
func (c *Coordinator) WriteSnapshotFile(ctx context.Context, w io.Writer, stale bool) error {
	var err error
	if stale {
		_, err = c.SaveLocalSnapshot(w)
	} else {
		_, err = c.SaveSnapshot(ctx, w)
	}
	return err
}

// RestoreSnapshotFile is RestoreSnapshot for package httpapi: it returns
// the restored file's header as JSON.
func (c *Coordinator) RestoreSnapshotFile(ctx context.Context, r io.Reader) (json.RawMessage, error) {
	info, err := c.RestoreSnapshot(ctx, r)
	if err != nil {
		return nil, err
	}
	return json.Marshal(info)
}
