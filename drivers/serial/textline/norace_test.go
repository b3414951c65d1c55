//go:build !race

package textline

const raceEnabled = false
