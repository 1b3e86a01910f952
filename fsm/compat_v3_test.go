package fsm

import (
	"testing"
	"time"
)

// The commands of the golden set v3 (testdata/compat/v3.*), in log order:
// the ceiling of the file index (SetFileIndexLimit), refusals past it (of a
// held file, of a file without a holder), a holder added to a known entry
// at the ceiling, a negative ceiling refused, and the snapshot of version 2
// (the file index packed). Never change this list or the expectations below
// once the set is released: they describe bytes on disk. A new command or
// field gets a new set (see compat_test.go).
func compatV3Log() []Command {
	return []Command{
		/* 1 */ &RegisterWorker{Worker: Worker{ID: cwA, Address: "10.0.1.1:29999", CapacityBytes: 2048 * gib,
			StartTime: ct(-time.Hour), Version: "0.11.0"}, Now: ct(time.Minute)},
		/* 2 */ &RegisterWorker{Worker: Worker{ID: cwB, Address: "10.0.1.2:29999", CapacityBytes: 1024 * gib,
			StartTime: ct(-time.Hour), Version: "0.11.0"}, Now: ct(2 * time.Minute)},
		/* 3 */ &SetFileIndexLimit{Limit: 3},
		/* 4 */ &FileIndexAdd{Entries: []FileEntry{{Path: "/s3/v3/a.jpeg", Size: 10, Replicas: 2}, {Path: "/s3/v3/b.jpeg", Size: 20}}, Worker: cwA},
		/* 5 */ &FileIndexAdd{Entries: []FileEntry{{Path: "/s3/v3/c.jpeg", Size: 30}, {Path: "/s3/v3/d.jpeg", Size: 40}}, Worker: cwB},
		/* 6 */ &FileIndexAdd{Entries: []FileEntry{{Path: "/s3/v3/a.jpeg"}}, Worker: cwB},
		/* 7 */ &SetFileIndexLimit{Limit: -1},
		/* 8 */ &FileIndexAdd{Entries: []FileEntry{{Path: "/s3/v3/e.jpeg", Size: 50}}},
	}
}

// checkCompatV3 checks the state v3's log reaches.
func checkCompatV3(t *testing.T, f *FSM) {
	t.Helper()
	eq(t, "applied index", f.AppliedIndex(), uint64(8))
	files, _ := f.FileIndexList("", "", 0)
	eq(t, "files", files, []FileEntry{
		{Path: "/s3/v3/a.jpeg", Size: 10, Replicas: 2, Workers: []string{cwA, cwB}},
		{Path: "/s3/v3/b.jpeg", Size: 20, Workers: []string{cwA}},
		{Path: "/s3/v3/c.jpeg", Size: 30, Workers: []string{cwB}},
	})
	eq(t, "status", f.FileIndexStatus(), FileIndexStatus{Entries: 3, Limit: 3, Partial: true, Refused: []string{"", cwB}})
}
