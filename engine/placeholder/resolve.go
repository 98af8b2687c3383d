package placeholder

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Value is an upstream output as the resolver sees it.
type Value struct {
	Value any
	// Secret marks a value that must stay secret in the consumer's config.
	Secret bool
	// Mock marks a stand-in for an output that does not exist yet (preview).
	Mock bool
}

// Context supplies what references resolve to.
type Context struct {
	DeploymentID, Domain, Organization, Project string
	EnvName, Region, AccountID                  string

	// Output returns an upstream output; ok is false when it is unknown.
	// A nil Output leaves every output reference unresolved.
	Output func(stack, name string) (Value, bool)
	// LookupEnv reads the process environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Now is the clock for ${calc.timestamp}; nil means time.Now.
	Now func() time.Time
	// NewUUID makes the value of ${calc.uuid}; nil means a random version 4 UUID.
	NewUUID func() string
}

// UnresolvedError reports a reference that the Context cannot satisfy.
type UnresolvedError struct {
	Ref Ref
	// Path locates the string within the resolved value, like "db.hosts[1]"
	// ("" when the value itself is the string).
	Path   string
	Reason string
}

// Error formats the error with its path, reference and reason.
func (e *UnresolvedError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("cannot resolve %s: %s", e.Ref.Raw, e.Reason)
	}
	return fmt.Sprintf("%s: cannot resolve %s: %s", e.Path, e.Ref.Raw, e.Reason)
}

func pathError(path string, err error) error {
	if path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Resolve returns a fresh copy of v with every placeholder replaced. A string
// that is exactly one placeholder takes the referenced value with its type;
// a placeholder embedded in text is rendered as text (strings as they are,
// anything else as compact JSON). secret and mock report whether any
// resolved output was secret or mock.
//
// Errors are *SyntaxError (wrapped with the path) or *UnresolvedError.
func Resolve(v any, c *Context) (resolved any, secret bool, mock bool, err error) {
	if c == nil {
		c = &Context{}
	}
	r := resolver{c: c}
	out, err := r.value(v, "")
	if err != nil {
		return nil, false, false, err
	}
	return out, r.secret, r.mock, nil
}

type resolver struct {
	c            *Context
	secret, mock bool
}

func (r *resolver) value(v any, path string) (any, error) {
	switch v := v.(type) {
	case string:
		return r.str(v, path)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = r.value(e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		// Sorted so that the reported error does not depend on map order.
		for _, k := range slices.Sorted(maps.Keys(v)) {
			e, err := r.value(v[k], JoinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) str(s, path string) (any, error) {
	if !strings.Contains(s, "{") {
		return s, nil // fast path: no placeholder can start without a brace
	}
	segs, err := Parse(s)
	if err != nil {
		return nil, pathError(path, err)
	}
	if len(segs) == 1 && segs[0].Ref != nil {
		return r.ref(segs[0].Ref, path)
	}
	var b strings.Builder
	for _, seg := range segs {
		if seg.Ref == nil {
			b.WriteString(seg.Literal)
			continue
		}
		v, err := r.ref(seg.Ref, path)
		if err != nil {
			return nil, err
		}
		if err := render(&b, v); err != nil {
			return nil, &UnresolvedError{Ref: *seg.Ref, Path: path, Reason: err.Error()}
		}
	}
	return b.String(), nil
}

func render(b *strings.Builder, v any) error {
	if s, ok := v.(string); ok {
		b.WriteString(s)
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("render as text: %w", err)
	}
	b.Write(data)
	return nil
}

func (r *resolver) ref(ref *Ref, path string) (any, error) {
	unresolved := func(format string, args ...any) (any, error) {
		return nil, &UnresolvedError{Ref: *ref, Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	// An empty deployment or environment field resolves to an error rather
	// than to "": silently empty config is how broken stacks get deployed.
	field := func(what, v string) (any, error) {
		if v == "" {
			return unresolved("%s is not set", what)
		}
		return v, nil
	}
	c := r.c
	switch ref.Kind {
	case KindOutput:
		if c.Output == nil {
			return unresolved("no outputs are available for stack %q", ref.Stack)
		}
		v, ok := c.Output(ref.Stack, ref.Output)
		if !ok {
			return unresolved("stack %q has no output %q", ref.Stack, ref.Output)
		}
		r.secret = r.secret || v.Secret
		r.mock = r.mock || v.Mock
		return deepCopy(v.Value), nil
	case KindDeployment:
		switch ref.Name {
		case "id":
			return field("deployment id", c.DeploymentID)
		case "domain":
			return field("deployment domain", c.Domain)
		case "organization":
			return field("deployment organization", c.Organization)
		case "project":
			return field("deployment project", c.Project)
		}
	case KindEnv:
		switch ref.Name {
		case "name":
			return field("environment name", c.EnvName)
		case "region":
			return field("environment region", c.Region)
		case "account_id":
			return field("environment account_id", c.AccountID)
		}
	case KindVar:
		lookup := c.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(ref.Name)
		if !ok {
			return unresolved("environment variable %q is not set", ref.Name)
		}
		return v, nil
	case KindCalc:
		switch ref.Name {
		case "uuid":
			if c.NewUUID != nil {
				return c.NewUUID(), nil
			}
			return newUUID(), nil
		case "timestamp":
			now := time.Now
			if c.Now != nil {
				now = c.Now
			}
			return now().UTC().Format(time.RFC3339), nil
		}
	}
	return unresolved("unknown reference")
}

// deepCopy copies lists and maps so that a resolved config never aliases an
// upstream output the caller may still hold.
func deepCopy(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never returns an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
