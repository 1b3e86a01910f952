package linearize

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
)

// OutDirEnv names the directory where failing histories are written
// (os.TempDir() when unset; a test's TempDir would be wiped with it).
const OutDirEnv = "ALLUVIUM_LINEARIZE_OUT"

// CheckTimeout bounds porcupine's search. The search is exponential only in
// the number of calls that overlap in one partition; with the workload's
// shape it takes milliseconds, so running out of time means something is
// off and is reported as a failure.
const CheckTimeout = time.Minute

// Result is the outcome of checking one history.
type Result struct {
	Verdict porcupine.CheckResult
	// File is the HTML visualisation of a history that is not Ok.
	File string
	Ops  int
}

// Check checks a history against Model. When it is not linearizable (or the
// check times out), it writes porcupine's visualisation, annotated with
// the faults, to alluvium-linearize-<name>.html in the output directory.
func Check(ops []porcupine.Operation, events []Event, name string) (Result, error) {
	verdict, info := porcupine.CheckOperationsVerbose(Model, ops, CheckTimeout)
	res := Result{Verdict: verdict, Ops: len(ops)}
	if verdict == porcupine.Ok {
		return res, nil
	}
	var notes []porcupine.Annotation
	for _, e := range events {
		notes = append(notes, porcupine.Annotation{Tag: "nemesis", Start: e.Start, End: e.End, Description: e.What, BackgroundColor: "#f6c4c4"})
	}
	info.AddAnnotations(notes)
	dir := os.Getenv(OutDirEnv)
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	res.File = filepath.Join(dir, fmt.Sprintf("alluvium-linearize-%s.html", name))
	if err := porcupine.VisualizePath(Model, info, res.File); err != nil {
		return res, fmt.Errorf("write %s: %w", res.File, err)
	}
	return res, nil
}

// PartitionSizes counts, per partition key, the operations and those
// without a definite answer: where a slow check spends its time.
func PartitionSizes(ops []porcupine.Operation) map[string][2]int {
	out := map[string][2]int{}
	for _, op := range ops {
		k := op.Input.(Input).Key
		n := out[k]
		n[0]++
		if op.Output.(Output).Unknown {
			n[1]++
		}
		out[k] = n
	}
	return out
}
