//go:build race

package crypto

// raceEnabled: the race detector changes what allocates.
const raceEnabled = true
