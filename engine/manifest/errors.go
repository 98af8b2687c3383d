package manifest

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is a problem found in a manifest, located by file, line, column and
// field path.
type Error struct {
	File         string // "" reads as "manifest"
	Line, Column int    // 0 when unknown
	Field        string // dotted path, e.g. "stacks.app.dependencies[1]"
	Msg          string
	Hint         string // e.g. `did you mean "network"?`
	// Err is the underlying error, if any (a *graph.CycleError, a
	// placeholder syntax error), so callers can inspect it with errors.As.
	Err error
}

func newError(file string, p Pos, field, format string, args ...any) *Error {
	return &Error{File: file, Line: p.Line, Column: p.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Error formats the error as file:line:col: field: message (hint).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(cmp.Or(e.File, "manifest"))
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in one manifest, sorted by position.
type ErrorList []*Error

// Error joins the messages, one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap exposes the errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Sort orders the list by line, then column, keeping the order of errors at
// the same place.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// Err returns the sorted list as an error, or nil when it is empty (a nil
// ErrorList stored in an error interface would not compare equal to nil).
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Suggest returns a `did you mean "x"?` hint naming the candidate closest to
// word, or "" when none is close enough to be a plausible typo.
func Suggest(word string, candidates []string) string {
	best, ok := closest(word, candidates)
	if !ok {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// closest returns the candidate closest to word (the first of equally
// close ones); ok is false when none is close enough to be a plausible
// typo.
func closest(word string, candidates []string) (best string, ok bool) {
	bestDist := -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(word), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(word)/3) || bestDist >= len(word) {
		return "", false
	}
	return best, true
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
