//go:build race

package textline

// raceEnabled is set when the race detector is on; it allocates behind
// the code's back, so allocation counts are not checked then.
const raceEnabled = true
