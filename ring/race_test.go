//go:build race

package ring

// raceDetector is true under -race, whose instrumentation makes a build of
// the default 2^20-partition table take seconds: tests that only check
// numbers of large tables then run on fewer sizes (the concurrent code is
// checked by TestDrawIndependentOfWorkers on small tables).
const raceDetector = true
