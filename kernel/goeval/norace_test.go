//go:build !race

package goeval

const raceEnabled = false
