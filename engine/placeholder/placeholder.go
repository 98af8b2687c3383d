// Package placeholder parses and resolves the references that stack config
// values may contain: ${network.vpcId}, ${deployment.id}, ${env.region},
// ${var.NAME}, ${calc.uuid} and the same forms written {{…}}.
//
// Parsing is separate from resolution so that the manifest can be checked and
// the dependency graph built (from output references) long before any
// upstream output exists.
package placeholder

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kind tells which namespace a reference points into.
type Kind int

// The reference kinds.
const (
	// KindOutput is an upstream stack output: ${network.vpcId} or ${stack.network.vpcId}.
	KindOutput Kind = iota
	// KindDeployment is a deployment field: ${deployment.id|domain|organization|project}.
	KindDeployment
	// KindEnv is a field of the target environment: ${env.name|region|account_id}.
	KindEnv
	// KindVar is a variable of the process environment: ${var.NAME}.
	KindVar
	// KindCalc is a value computed at resolution time: ${calc.uuid|timestamp}.
	KindCalc
)

// String returns the namespace name used in the placeholder syntax.
func (k Kind) String() string {
	switch k {
	case KindOutput:
		return "stack"
	case KindDeployment:
		return "deployment"
	case KindEnv:
		return "env"
	case KindVar:
		return "var"
	case KindCalc:
		return "calc"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Ref is one parsed reference.
type Ref struct {
	// Raw is the reference as written, delimiters included, e.g. "${network.vpcId}".
	Raw  string
	Kind Kind
	// Stack is the upstream stack name (KindOutput only).
	Stack string
	// Output is the upstream output name (KindOutput only). The first dot
	// separates the stack from the output, so the output may contain dots.
	Output string
	// Name is the field within the namespace for every kind but KindOutput.
	Name string
}

// Segment is a piece of a parsed string: exactly one of Literal and Ref is set.
type Segment struct {
	Literal string
	Ref     *Ref
}

// SyntaxError reports a malformed placeholder.
type SyntaxError struct {
	Text   string // the offending placeholder text
	Offset int    // byte offset of Text in the parsed string
	Msg    string
}

// Error formats the error with the offending placeholder.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("placeholder %q: %s", e.Text, e.Msg)
}

var (
	stackName  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	outputName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	varName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Namespaces returns the namespaces a reference may start with instead of
// a stack name, for "did you mean" hints: ${evn.region} is read as an
// output of a stack "evn", but was meant as ${env.region}.
func Namespaces() []string { return []string{"deployment", "env", "var", "calc", "stack"} }

// ExplicitStack reports whether the reference is written with the stack
// namespace (${stack.network.vpcId}), so that its first name can only be a
// stack.
func (r *Ref) ExplicitStack() bool {
	if r.Kind != KindOutput || len(r.Raw) < 2 {
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(r.Raw[2:]), "stack.")
}

// fixedNamespace returns the kind and accepted fields of the namespaces
// whose field set is closed; ok is false for "var", "stack" and stack names.
func fixedNamespace(ns string) (kind Kind, names []string, ok bool) {
	switch ns {
	case "deployment":
		return KindDeployment, []string{"id", "domain", "organization", "project"}, true
	case "env":
		return KindEnv, []string{"name", "region", "account_id"}, true
	case "calc":
		return KindCalc, []string{"uuid", "timestamp"}, true
	}
	return 0, nil, false
}

// Parse splits s into literal text and references. "$${" is an escape for a
// literal "${". A "$" or "{" that does not open a placeholder is literal.
//
// Errors are *SyntaxError: unterminated or empty placeholders, unknown
// namespaces and names that the namespace does not accept.
func Parse(s string) ([]Segment, error) {
	var segs []Segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, Segment{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		rest := s[i:]
		var closer string
		switch {
		case strings.HasPrefix(rest, "$${"):
			lit.WriteString("${")
			i += 3
			continue
		case strings.HasPrefix(rest, "${"):
			closer = "}"
		case strings.HasPrefix(rest, "{{"):
			closer = "}}"
		default:
			lit.WriteByte(s[i])
			i++
			continue
		}
		end := strings.Index(rest[2:], closer)
		if end < 0 {
			return nil, &SyntaxError{Text: rest, Offset: i, Msg: "unterminated (missing " + closer + ")"}
		}
		raw := rest[:2+end+len(closer)]
		ref, err := parseRef(raw, strings.TrimSpace(rest[2:2+end]))
		if err != nil {
			err.Offset = i
			return nil, err
		}
		flush()
		segs = append(segs, Segment{Ref: ref})
		i += len(raw)
	}
	flush()
	return segs, nil
}

// parseRef interprets the text between the delimiters.
func parseRef(raw, body string) (*Ref, *SyntaxError) {
	fail := func(format string, args ...any) (*Ref, *SyntaxError) {
		return nil, &SyntaxError{Text: raw, Msg: fmt.Sprintf(format, args...)}
	}
	if body == "" {
		return fail("empty reference")
	}
	ns, name, ok := strings.Cut(body, ".")
	if !ok {
		return fail("want namespace.name or stack.output")
	}
	if ns == "stack" {
		ns, name, ok = strings.Cut(name, ".")
		if !ok {
			return fail("want stack.<stack>.<output>")
		}
		return outputRef(raw, ns, name)
	}
	if ns == "var" {
		if !varName.MatchString(name) {
			return fail("bad environment variable name %q", name)
		}
		return &Ref{Raw: raw, Kind: KindVar, Name: name}, nil
	}
	if kind, names, fixed := fixedNamespace(ns); fixed {
		if !slices.Contains(names, name) {
			return fail("unknown %s field %q (want one of %s)", ns, name, strings.Join(names, ", "))
		}
		return &Ref{Raw: raw, Kind: kind, Name: name}, nil
	}
	return outputRef(raw, ns, name)
}

func outputRef(raw, stack, output string) (*Ref, *SyntaxError) {
	if !stackName.MatchString(stack) {
		return nil, &SyntaxError{Text: raw, Msg: fmt.Sprintf("unknown namespace or bad stack name %q", stack)}
	}
	if !outputName.MatchString(output) {
		return nil, &SyntaxError{Text: raw, Msg: fmt.Sprintf("bad output name %q", output)}
	}
	return &Ref{Raw: raw, Kind: KindOutput, Stack: stack, Output: output}, nil
}
