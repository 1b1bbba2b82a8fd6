//go:build race

package goeval

// raceEnabled is set when tests run with the race detector.
const raceEnabled = true
