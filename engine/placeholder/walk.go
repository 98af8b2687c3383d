package placeholder

import (
	"maps"
	"slices"
	"strconv"
)

// Walk calls fn for every string inside a config value (strings nested in
// lists and maps included) with its path relative to v, written like
// "db.hosts[1]" ("" for v itself). Map keys are visited in sorted order so
// that the first error reported is always the same one. Walk stops at the
// first error fn returns.
func Walk(v any, fn func(path, s string) error) error {
	return walk(v, "", fn)
}

func walk(v any, path string, fn func(path, s string) error) error {
	switch v := v.(type) {
	case string:
		return fn(path, v)
	case []any:
		for i, e := range v {
			if err := walk(e, path+"["+strconv.Itoa(i)+"]", fn); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if err := walk(v[k], JoinPath(path, k), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// JoinPath appends a map key to a config path.
func JoinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Refs returns every reference inside a config value, in Walk order.
// The error is the first *SyntaxError found, prefixed with its path.
func Refs(v any) ([]Ref, error) {
	var refs []Ref
	err := Walk(v, func(path, s string) error {
		segs, err := Parse(s)
		if err != nil {
			return pathError(path, err)
		}
		for _, seg := range segs {
			if seg.Ref != nil {
				refs = append(refs, *seg.Ref)
			}
		}
		return nil
	})
	return refs, err
}

// Dependencies returns the distinct upstream stacks that a config value
// references through output placeholders, sorted.
func Dependencies(v any) ([]string, error) {
	refs, err := Refs(v)
	if err != nil {
		return nil, err
	}
	var stacks []string
	for _, r := range refs {
		if r.Kind == KindOutput {
			stacks = append(stacks, r.Stack)
		}
	}
	slices.Sort(stacks)
	return slices.Compact(stacks), nil
}
