package ring

// RaceDetector tells the external tests whether -race is on.
const RaceDetector = raceDetector
