package policies

import "strings"

// suggest returns the known name nearest to got, or "" when none is near:
// within an edit distance of 2 and of a third of the name's length, after
// lower-casing and turning '-' into '_'.
func suggest(got string, known []string) string {
	g := strings.ReplaceAll(strings.ToLower(got), "-", "_")
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(g, k); d < bestD && d*3 <= len(k) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
