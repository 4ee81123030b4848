//go:build race

package connector

// raceEnabled shrinks the big end-to-end test under the race detector, which makes it
// twenty times slower; without -race it runs at full size.
const raceEnabled = true
