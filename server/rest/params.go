package rest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudplatform/cloud/graph"
)

// checkQuery refuses a malformed query string and parameters the route
// does not take: a misspelt parameter (?frist=10) silently ignored would
// return something else than what the caller asked for.
func checkQuery(r *http.Request, allowed []string) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return inputErrorf("query", "malformed query string: %v", err)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if slices.Contains(allowed, name) {
			continue
		}
		if len(allowed) == 0 {
			return inputErrorf(name, "unknown query parameter (this route takes none)")
		}
		return inputErrorf(name, "unknown query parameter%s (this route takes: %s)", suggest(name, allowed), strings.Join(allowed, ", "))
	}
	return nil
}

// query reads a request's query parameters; every accessor names the
// parameter in its error. checkQuery has already refused malformed ones.
type query struct{ v url.Values }

func queryOf(r *http.Request) query { return query{r.URL.Query()} }

// one returns the single value of name, nil when absent.
func (q query) one(name string) (*string, error) {
	vs, ok := q.v[name]
	if !ok {
		return nil, nil
	}
	if len(vs) > 1 {
		return nil, inputErrorf(name, "given %d times; give it once", len(vs))
	}
	return &vs[0], nil
}

// str is a non-empty string parameter.
func (q query) str(name string) (*string, error) {
	s, err := q.one(name)
	if err != nil || s == nil {
		return nil, err
	}
	if *s == "" {
		return nil, inputErrorf(name, "must not be empty (leave it out instead)")
	}
	return s, nil
}

// integer is an integer parameter.
func (q query) integer(name string) (*int, error) {
	s, err := q.one(name)
	if err != nil || s == nil {
		return nil, err
	}
	n, err := strconv.Atoi(*s)
	if err != nil {
		return nil, inputErrorf(name, "must be an integer, not %q", clip(*s))
	}
	return &n, nil
}

// boolean is a true/false parameter.
func (q query) boolean(name string) (*bool, error) {
	s, err := q.one(name)
	if err != nil || s == nil {
		return nil, err
	}
	b, err := strconv.ParseBool(*s)
	if err != nil {
		return nil, inputErrorf(name, "must be true or false, not %q", clip(*s))
	}
	return &b, nil
}

// list is a repeatable parameter (?stack=a&stack=b); nil when absent.
func (q query) list(name string) ([]string, error) {
	vs := q.v[name]
	for _, s := range vs {
		if s == "" {
			return nil, inputErrorf(name, "must not be empty")
		}
	}
	return vs, nil
}

// pageArgs reads the paging parameters first and after; the resolver
// checks their values (range, cursor) and names them in its errors.
func (q query) pageArgs() (first *int, after *string, err error) {
	if first, err = q.integer("first"); err != nil {
		return nil, nil, err
	}
	if first != nil && (*first < 1 || *first > graph.MaxPage) {
		return nil, nil, inputErrorf("first", "must be between 1 and %d", graph.MaxPage)
	}
	if after, err = q.str("after"); err != nil {
		return nil, nil, err
	}
	return first, after, nil
}

// afterSeq reads where an event list starts: afterSeq (a sequence number)
// or after (the nextCursor of the previous page), not both.
func (q query) afterSeq() (*int, error) {
	seq, err := q.integer("afterSeq")
	if err != nil {
		return nil, err
	}
	if seq != nil && *seq < 0 {
		return nil, inputErrorf("afterSeq", "must not be negative")
	}
	after, err := q.str("after")
	if err != nil || after == nil {
		return seq, err
	}
	if seq != nil {
		return nil, inputErrorf("after", "give after or afterSeq, not both")
	}
	key, err := graph.DecodeCursor("after", after)
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(key)
	if err != nil || n < 0 {
		return nil, inputErrorf("after", "not a cursor of an event list")
	}
	return &n, nil
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// suggest returns ` (did you mean "x"?)` for the known name closest to an
// unknown one, or "" when none is close.
func suggest(name string, known []string) string {
	best, bestD := "", 3 // at most two edits away
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return ` (did you mean "` + best + `"?)`
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
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
