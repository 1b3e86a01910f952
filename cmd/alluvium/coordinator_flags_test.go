package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The API options a coordinator's flags give: bad values are refused with
// the flag's name, good ones reach httpapi.Options.
func TestCoordinatorAPIOptions(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    int64 // MaxSnapshotBytes
		wantErr string
	}{
		{nil, 8 << 30, ""},
		{[]string{"--max-snapshot-size", "512MiB"}, 512 << 20, ""},
		{[]string{"--max-snapshot-size", "0"}, 0, "--max-snapshot-size"},
		{[]string{"--max-snapshot-size", "lots"}, 0, "--max-snapshot-size"},
		{[]string{"--disable", "nonsense"}, 0, "nonsense"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var s serverFlags
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			s.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			o, err := s.apiOptions()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || o.MaxSnapshotBytes != tc.want {
				t.Fatalf("MaxSnapshotBytes %d (%v), want %d", o.MaxSnapshotBytes, err, tc.want)
			}
		})
	}
}
