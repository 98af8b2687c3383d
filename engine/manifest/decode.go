package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits that keep a hostile file (an alias bomb, absurd nesting) from
// exhausting memory or the stack.
const (
	maxNodes = 1_000_000
	maxDepth = 200
)

// The known field names, for unknown-field checks and their hints.
func topFields() []string {
	return []string{"version", "deployment_id", "organization", "project", "domain", "pulumiOrg", "backend", "template", "created_at", "metadata", "environments", "stacks"}
}
func envFields() []string { return []string{"enabled", "region", "account_id", "protected"} }
func stackFields() []string {
	return []string{"program", "enabled", "dependencies", "layer", "config", "environments"}
}
func stackEnvFields() []string { return []string{"enabled", "config"} }

var yamlLine = regexp.MustCompile(`line (\d+)`)

// Parse decodes and validates a manifest. file names the source in errors.
// The error is an ErrorList holding every problem found: YAML syntax,
// shape (unknown fields, wrong types, duplicate keys) and Validate's rules.
func Parse(file string, data []byte) (*Manifest, error) {
	m := &Manifest{File: file, pos: map[string]Pos{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, ErrorList{syntaxError(file, err)}
	}
	if len(root.Content) == 0 {
		return nil, ErrorList{{File: file, Msg: "empty manifest"}}
	}
	// A manifest is one document: a second one (after ---) would be stored
	// with the revision but never read, so it is refused, not ignored.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, ErrorList{syntaxError(file, err)}
	default:
		return nil, ErrorList{{File: file, Line: next.Line, Column: next.Column,
			Msg:  "a second YAML document starts here, but a manifest is one document",
			Hint: "remove this --- and what follows it, or merge it into the first document"}}
	}
	d := &decoder{m: m}
	d.top(root.Content[0])
	errs := d.errs
	if err := m.Validate(); err != nil {
		errs = append(errs, err.(ErrorList)...)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// syntaxError turns a yaml.v3 error into an *Error located at its line.
func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(err.Error(), "yaml: "), Err: err}
	if sub := yamlLine.FindStringSubmatchIndex(e.Msg); sub != nil {
		e.Line, _ = strconv.Atoi(e.Msg[sub[2]:sub[3]])
		// The line is in the position already; keep only the message.
		e.Msg = e.Msg[:sub[0]] + strings.TrimPrefix(e.Msg[sub[1]:], ": ")
	}
	return e
}

type decoder struct {
	m     *Manifest
	errs  ErrorList
	nodes int
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) *Error {
	e := newError(d.m.File, Pos{n.Line, n.Column}, field, format, args...)
	d.errs = append(d.errs, e)
	return e
}

func (d *decoder) mark(n *yaml.Node, field string) {
	d.m.pos[field] = Pos{n.Line, n.Column}
}

// deref follows aliases to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mapping calls fn for every key of the mapping n (at field path) in file
// order, after checking for duplicates and, when known is not nil, for
// unknown fields. A null node is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, known []string, fn func(key string, k, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, not %s", describe(n))
		return
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be scalars, not %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.errorf(k, path, "merge keys (<<) are not supported")
			continue
		}
		key, ok := d.text(k, path)
		if !ok {
			continue
		}
		field := join(path, key)
		if line, dup := seen[key]; dup {
			d.errorf(k, field, "duplicate key %q (first at line %d)", key, line)
			continue
		}
		seen[key] = k.Line
		if known != nil && !contains(known, key) {
			e := d.errorf(k, field, "unknown field %q", key)
			e.Hint = Suggest(key, known)
			continue
		}
		d.m.pos[field] = Pos{k.Line, k.Column}
		fn(key, k, v)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%s %s", n.ShortTag()[2:], n.Value)
	}
	return "an alias"
}

// text returns a scalar's text. It refuses invalid UTF-8 (reachable through
// escapes in quoted strings) because it cannot be written back as YAML.
func (d *decoder) text(n *yaml.Node, field string) (string, bool) {
	if !utf8.ValidString(n.Value) {
		d.errorf(n, field, "invalid UTF-8 in string")
		return "", false
	}
	return n.Value, true
}

// str reads a string field; any scalar is accepted as written (so that
// `version: 1.0` stays "1.0") and null is "".
func (d *decoder) str(n *yaml.Node, field string) string {
	n = deref(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, field, "must be a string, not %s", describe(n))
		return ""
	}
	s, _ := d.text(n, field)
	return s
}

func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	n = deref(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, field, "must be true or false, not %s", describe(n))
		return false, false
	}
	return b, true
}

func (d *decoder) top(n *yaml.Node) {
	m := d.m
	d.mapping(n, "", topFields(), func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			m.Version = d.str(v, key)
		case "deployment_id":
			m.DeploymentID = d.str(v, key)
		case "organization":
			m.Organization = d.str(v, key)
		case "project":
			m.Project = d.str(v, key)
		case "domain":
			m.Domain = d.str(v, key)
		case "pulumiOrg":
			m.PulumiOrg = d.str(v, key)
		case "backend":
			m.Backend = d.str(v, key)
		case "template":
			m.Template = d.str(v, key)
		case "created_at":
			m.CreatedAt = d.str(v, key)
		case "metadata":
			m.Metadata = d.object(v, key)
		case "environments":
			d.mapping(v, key, nil, func(name string, k, v *yaml.Node) {
				m.Environments = append(m.Environments, d.environment(name, k, v))
			})
		case "stacks":
			d.mapping(v, key, nil, func(name string, k, v *yaml.Node) {
				m.Stacks = append(m.Stacks, d.stack(name, k, v))
			})
		}
	})
}

func (d *decoder) environment(name string, k, n *yaml.Node) *Environment {
	e := &Environment{Name: name, Enabled: true, Pos: Pos{k.Line, k.Column}}
	path := "environments." + name
	d.mapping(n, path, envFields(), func(key string, _, v *yaml.Node) {
		field := path + "." + key
		switch key {
		case "enabled":
			if b, ok := d.boolean(v, field); ok {
				e.Enabled = b
			}
		case "region":
			e.Region = d.str(v, field)
		case "account_id":
			e.AccountID = d.str(v, field)
		case "protected":
			if b, ok := d.boolean(v, field); ok {
				e.Protected = &b
			}
		}
	})
	return e
}

func (d *decoder) stack(name string, k, n *yaml.Node) *Stack {
	s := &Stack{Name: name, Program: name, Enabled: true, Pos: Pos{k.Line, k.Column}}
	path := "stacks." + name
	d.mapping(n, path, stackFields(), func(key string, _, v *yaml.Node) {
		field := path + "." + key
		switch key {
		case "program":
			if v := deref(v); !isNull(v) {
				s.Program = d.str(v, field)
			}
		case "enabled":
			if b, ok := d.boolean(v, field); ok {
				s.Enabled = b
			}
		case "dependencies":
			s.Dependencies = d.stringList(v, field)
		case "layer":
			if l, ok := d.layer(v, field); ok {
				s.Layer = &l
			}
		case "config":
			s.Config = d.object(v, field)
		case "environments":
			d.mapping(v, field, nil, func(env string, _, v *yaml.Node) {
				if s.Environments == nil {
					s.Environments = map[string]*StackEnvironment{}
				}
				s.Environments[env] = d.stackEnvironment(v, field+"."+env)
			})
		}
	})
	return s
}

func (d *decoder) stackEnvironment(n *yaml.Node, path string) *StackEnvironment {
	se := &StackEnvironment{}
	d.mapping(n, path, stackEnvFields(), func(key string, _, v *yaml.Node) {
		field := path + "." + key
		switch key {
		case "enabled":
			if b, ok := d.boolean(v, field); ok {
				se.Enabled = &b
			}
		case "config":
			se.Config = d.object(v, field)
		}
	})
	return se
}

func (d *decoder) stringList(n *yaml.Node, field string) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, field, "must be a list, not %s", describe(n))
		return nil
	}
	var out []string
	for i, e := range n.Content {
		f := field + "[" + strconv.Itoa(i) + "]"
		d.mark(e, f)
		if e := deref(e); e.Kind != yaml.ScalarNode || isNull(e) {
			d.errorf(e, f, "must be a string, not %s", describe(e))
			continue
		}
		out = append(out, d.str(e, f))
	}
	return out
}

func (d *decoder) layer(n *yaml.Node, field string) (int, bool) {
	n = deref(n)
	var l int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&l) != nil {
		d.errorf(n, field, "must be an integer, not %s", describe(n))
		return 0, false
	}
	return l, true
}

// object reads a config-like mapping; empty becomes nil so that "absent"
// and "{}" read the same.
func (d *decoder) object(n *yaml.Node, field string) map[string]any {
	if deref(n).Kind != yaml.MappingNode && !isNull(deref(n)) {
		d.errorf(n, field, "must be a mapping, not %s", describe(deref(n)))
		return nil
	}
	m, _ := d.value(n, field, 0).(map[string]any)
	if len(m) == 0 {
		return nil
	}
	return m
}

// value decodes a config value: string, float64, bool, nil, []any or
// map[string]any.
func (d *decoder) value(n *yaml.Node, field string, depth int) any {
	if d.nodes++; d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errorf(n, field, "too many values (more than %d, alias expansion?)", maxNodes)
		}
		return nil
	}
	if depth > maxDepth {
		d.errorf(n, field, "nested more than %d levels deep", maxDepth)
		return nil
	}
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		d.mapping(n, field, nil, func(key string, _, v *yaml.Node) {
			out[key] = d.value(v, join(field, key), depth+1)
		})
		return out
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, e := range n.Content {
			f := field + "[" + strconv.Itoa(i) + "]"
			d.mark(e, f)
			out[i] = d.value(e, f, depth+1)
		}
		return out
	case yaml.ScalarNode:
		return d.scalar(n, field)
	}
	d.errorf(n, field, "unsupported YAML node")
	return nil
}

func (d *decoder) scalar(n *yaml.Node, field string) any {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp":
		// Timestamps stay text: config is handed to programs as written.
		s, _ := d.text(n, field)
		return s
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errorf(n, field, "bad boolean %q", n.Value)
		}
		return b
	case "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			d.errorf(n, field, "bad number %q", n.Value)
			return nil
		}
		f, ok := toFloat(v)
		// Infinities and NaN have no JSON form, and Pulumi config is JSON.
		if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
			d.errorf(n, field, "number %q is not a finite number", n.Value)
			return nil
		}
		return f
	default:
		d.errorf(n, field, "unsupported YAML tag %s", tag)
		return nil
	}
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}
