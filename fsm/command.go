package fsm

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// CommandType identifies a command in the Raft log. Numbers are fixed forever:
// a retired number is never reused. A type with the high bit (IgnoreIfUnknown)
// set may be skipped by a replica that does not know it, so optional features
// can be added without breaking older nodes during a rolling upgrade.
type CommandType uint8

// IgnoreIfUnknown marks a command type that older replicas may skip.
const IgnoreIfUnknown CommandType = 0x80

// The command types. Gaps leave room for each domain to grow.
const (
	CmdSetCoordinator    CommandType = 1
	CmdRemoveCoordinator CommandType = 2

	CmdAddMount      CommandType = 10
	CmdRemoveMount   CommandType = 11
	CmdReplaceMounts CommandType = 12

	CmdSetQuota        CommandType = 20
	CmdDeleteQuota     CommandType = 21
	CmdSetQuotaBudgets CommandType = 22

	CmdSetTTL    CommandType = 30
	CmdDeleteTTL CommandType = 31

	CmdSetPriority    CommandType = 40
	CmdDeletePriority CommandType = 41

	CmdAddFilterRule    CommandType = 50
	CmdRemoveFilterRule CommandType = 51
	CmdSetDefaultFilter CommandType = 52

	CmdRegisterWorker CommandType = 60
	CmdSetWorkerState CommandType = 61
	CmdRemoveWorker   CommandType = 62

	CmdSubmitJob CommandType = 70
	CmdUpdateJob CommandType = 71
	CmdStopJob   CommandType = 72
	CmdPruneJobs CommandType = 73

	CmdFileIndexAdd     CommandType = 80
	CmdFileIndexRemove  CommandType = 81
	CmdFileIndexHolders CommandType = 82
	CmdFileIndexReport  CommandType = 83
	// Not IgnoreIfUnknown: a replica that skipped it would keep files the
	// others refuse, and diverge. Of CommandLevel 1: a leader proposes it
	// only once every voter applies it.
	CmdSetFileIndexLimit CommandType = 84
)

// CommandLevel is the newest set of commands this build applies. A command
// an older replica cannot apply, and must not skip, stops that replica; so
// a leader proposes a command of level N only when every voter reports
// level N or more (GET /api/v1/health's commandLevel; a build from before
// levels reports none, level 0). Level 1 adds SetFileIndexLimit.
const CommandLevel = 1

var commandNames = map[CommandType]string{
	CmdSetCoordinator:    "SetCoordinator",
	CmdRemoveCoordinator: "RemoveCoordinator",
	CmdAddMount:          "AddMount",
	CmdRemoveMount:       "RemoveMount",
	CmdReplaceMounts:     "ReplaceMounts",
	CmdSetQuota:          "SetQuota",
	CmdDeleteQuota:       "DeleteQuota",
	CmdSetQuotaBudgets:   "SetQuotaBudgets",
	CmdSetTTL:            "SetTTL",
	CmdDeleteTTL:         "DeleteTTL",
	CmdSetPriority:       "SetPriority",
	CmdDeletePriority:    "DeletePriority",
	CmdAddFilterRule:     "AddFilterRule",
	CmdRemoveFilterRule:  "RemoveFilterRule",
	CmdSetDefaultFilter:  "SetDefaultFilter",
	CmdRegisterWorker:    "RegisterWorker",
	CmdSetWorkerState:    "SetWorkerState",
	CmdRemoveWorker:      "RemoveWorker",
	CmdSubmitJob:         "SubmitJob",
	CmdUpdateJob:         "UpdateJob",
	CmdStopJob:           "StopJob",
	CmdPruneJobs:         "PruneJobs",
	CmdFileIndexAdd:      "FileIndexAdd",
	CmdFileIndexRemove:   "FileIndexRemove",
	CmdFileIndexHolders:  "FileIndexHolders",
	CmdFileIndexReport:   "FileIndexReport",
	CmdSetFileIndexLimit: "SetFileIndexLimit",
}

func (t CommandType) String() string {
	if n, ok := commandNames[t]; ok {
		return n
	}
	return fmt.Sprintf("CommandType(%d)", uint8(t))
}

// Command is one change to the replicated state. Each concrete command is a
// pointer to a struct declared beside the domain it changes.
//
// The persisted encoding has a contract. Every field of a command, and of
// every struct a command or a snapshot record holds, carries an explicit
// msgpack tag, and the tags are the wire contract: the Go names may change,
// the tags may not.
//   - Never rename a tag, never change its omitempty, never change the type
//     of what it holds to one that decodes differently.
//   - A new field gets a new tag; an old entry lacks it and decodes as the
//     zero value, which must therefore mean what the old version did (see
//     SubmitJob.Rules).
//   - A retired field's tag is never reused for another field.
//   - An embedded struct is tagged `msgpack:",inline"`: its fields are keys of
//     the struct that embeds it (Job and JobCounters), as msgpack did before
//     the tags. msgpack reads only msgpack tags: a field tagged `json:"-"` is
//     persisted all the same (Job.Cursor, Job.Phase).
//   - Most tags are the Go names the fields had when the encoding was first
//     written (msgpack keyed untagged fields by them); newer fields have
//     short tags (FileEntry, the holding reports).
//
// The golden sets in testdata/compat (a log with entries of every command
// type and a snapshot of every domain, written by earlier versions) are
// decoded and applied by the TestCompat tests forever; a new command or
// field needs a new set (see compat_test.go).
type Command interface {
	Type() CommandType
}

// newCommand returns an empty command of type t, or nil for an unknown type.
func newCommand(t CommandType) Command {
	switch t {
	case CmdSetCoordinator:
		return &SetCoordinator{}
	case CmdRemoveCoordinator:
		return &RemoveCoordinator{}
	case CmdAddMount:
		return &AddMount{}
	case CmdRemoveMount:
		return &RemoveMount{}
	case CmdReplaceMounts:
		return &ReplaceMounts{}
	case CmdSetQuota:
		return &SetQuota{}
	case CmdDeleteQuota:
		return &DeleteQuota{}
	case CmdSetQuotaBudgets:
		return &SetQuotaBudgets{}
	case CmdSetTTL:
		return &SetTTL{}
	case CmdDeleteTTL:
		return &DeleteTTL{}
	case CmdSetPriority:
		return &SetPriority{}
	case CmdDeletePriority:
		return &DeletePriority{}
	case CmdAddFilterRule:
		return &AddFilterRule{}
	case CmdRemoveFilterRule:
		return &RemoveFilterRule{}
	case CmdSetDefaultFilter:
		return &SetDefaultFilter{}
	case CmdRegisterWorker:
		return &RegisterWorker{}
	case CmdSetWorkerState:
		return &SetWorkerState{}
	case CmdRemoveWorker:
		return &RemoveWorker{}
	case CmdSubmitJob:
		return &SubmitJob{}
	case CmdUpdateJob:
		return &UpdateJob{}
	case CmdStopJob:
		return &StopJob{}
	case CmdPruneJobs:
		return &PruneJobs{}
	case CmdFileIndexAdd:
		return &FileIndexAdd{}
	case CmdFileIndexRemove:
		return &FileIndexRemove{}
	case CmdFileIndexHolders:
		return &FileIndexHolders{}
	case CmdFileIndexReport:
		return &FileIndexReport{}
	case CmdSetFileIndexLimit:
		return &SetFileIndexLimit{}
	}
	return nil
}

// Encode serialises a command for the Raft log: one type byte, then msgpack.
func Encode(c Command) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(byte(c.Type()))
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true) // identical commands give identical bytes
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("fsm: encode %s: %w", c.Type(), err)
	}
	return buf.Bytes(), nil
}

// ErrUnknownCommand is returned by Decode for a type this build does not know.
type ErrUnknownCommand struct{ Type CommandType }

func (e ErrUnknownCommand) Error() string {
	return fmt.Sprintf("fsm: unknown command type %d", uint8(e.Type))
}

// Decode parses bytes made by Encode. It fails on an empty input, an unknown
// type or a payload that does not decode into that type's struct.
func Decode(b []byte) (Command, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("fsm: empty command")
	}
	t := CommandType(b[0])
	c := newCommand(t)
	if c == nil {
		return nil, ErrUnknownCommand{Type: t}
	}
	dec := msgpack.NewDecoder(bytes.NewReader(b[1:]))
	if err := decodeSafely(dec, c); err != nil {
		return nil, fmt.Errorf("fsm: decode %s: %w", t, err)
	}
	return c, nil
}

// decodeSafely decodes, turning a panic of the msgpack library (it panics on
// some malformed input, such as nil for a time.Time) into an error.
func decodeSafely(dec *msgpack.Decoder, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed msgpack: %v", r)
		}
	}()
	return dec.Decode(v)
}

// Timed is implemented by commands that carry the leader's clock. The
// coordinator stamps them just before proposing, so that every replica
// applies the same time.
type Timed interface {
	Command
	SetNow(time.Time)
}

func (c *SubmitJob) SetNow(t time.Time)      { c.Now = t.UTC() }
func (c *UpdateJob) SetNow(t time.Time)      { c.Now = t.UTC() }
func (c *StopJob) SetNow(t time.Time)        { c.Now = t.UTC() }
func (c *RegisterWorker) SetNow(t time.Time) { c.Now = t.UTC() }
func (c *SetWorkerState) SetNow(t time.Time) { c.Now = t.UTC() }
func (c *RemoveWorker) SetNow(t time.Time)   { c.Now = t.UTC() }
