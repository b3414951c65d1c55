package yamlconf

import (
	"fmt"
	"strings"
)

// unknownField says a key is not one the section takes, suggesting the
// closest valid key when it looks like a typo and listing all of them.
func unknownField(key string, valid []string) string {
	msg := fmt.Sprintf("unknown field %s", quoteShort(key))
	if s := closest(key, valid); s != "" {
		msg += fmt.Sprintf(", did you mean %q?", s)
	}
	if len(valid) == 0 {
		return msg + " (this section takes no fields)"
	}
	return msg + " (valid: " + strings.Join(valid, ", ") + ")"
}

// closest is the valid key within two edits of key (a swap of neighbours
// counts as one), or "" if none is; ties go to the first in valid.
func closest(key string, valid []string) string {
	if len(key) > 64 {
		return "" // not a typo; and keeps the quadratic distance cheap
	}
	best, bestDist := "", 3
	for _, v := range valid {
		if d := editDistance(strings.ToLower(key), strings.ToLower(v)); d < bestDist && d < len([]rune(key)) {
			best, bestDist = v, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of adjacent runes each cost one.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// d[i][j] is the distance between s[:i] and t[:j].
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}
