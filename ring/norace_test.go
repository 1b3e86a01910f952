//go:build !race

package ring

// raceDetector is true under -race (see race_test.go).
const raceDetector = false
