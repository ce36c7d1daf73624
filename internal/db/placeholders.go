package db

import (
	"strconv"
	"strings"
)

// Placeholders is "$start,…,$(start+n-1)": the parameters of an IN list or
// of one row of a multi-row VALUES, numbered from start.
func Placeholders(start, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(start+i))
	}
	return b.String()
}
