// Package manifest reads, checks and writes the deployment manifest
// (deployment-manifest.yaml): a deployment's environments and stacks.
//
// The YAML is decoded by walking yaml.v3 nodes rather than through struct
// tags so that every error carries its line, column and field path, unknown
// fields are reported with a "did you mean" hint, and all errors are
// reported at once rather than the first one only.
package manifest

import (
	"maps"
	"slices"
)

// Manifest is a deployment as described in its manifest file.
type Manifest struct {
	// File is the file name used in error messages; "" reads as "manifest".
	File         string
	Version      string // a number in the file is kept as written
	DeploymentID string
	Organization string
	Project      string
	Domain       string
	PulumiOrg    string // optional Pulumi organization
	Backend      string // optional Pulumi backend URL (s3://…, file://…)
	Template     string
	CreatedAt    string
	Metadata     map[string]any
	Environments []*Environment // in file order
	Stacks       []*Stack       // in file order

	// pos maps field paths ("stacks.app.config.port") to where they were
	// read, so that checks run after decoding (here and in the planner) can
	// still point at a line.
	pos map[string]Pos
}

// Pos is a position in the manifest file; the zero Pos means unknown.
type Pos struct{ Line, Column int }

// Environment is one target environment (an AWS account and region).
type Environment struct {
	Name      string
	Enabled   bool // defaults to true when the file does not say
	Region    string
	AccountID string // 12 digits, or "" when not given
	// Protected, when set, says whether only admins may deploy, destroy,
	// roll back or cancel here; nil follows the default (see IsProtected).
	Protected *bool
	Pos       Pos
}

// DefaultProtected names the environment protected when its manifest does
// not say: production is where a deployer's mistake costs most.
const DefaultProtected = "prod"

// IsProtected reports whether the environment is protected: its
// `protected` flag, or, when the manifest does not say, whether it is
// named DefaultProtected.
func (e *Environment) IsProtected() bool {
	if e.Protected != nil {
		return *e.Protected
	}
	return e.Name == DefaultProtected
}

// Stack is one stack of the deployment.
type Stack struct {
	Name         string
	Program      string // the registered program it runs; defaults to Name
	Enabled      bool   // defaults to true when the file does not say
	Dependencies []string
	Config       map[string]any
	// Layer is the declared layer, nil when not given. It is informational
	// but must not be lower than the layer its dependencies imply (roots
	// are layer 0); plan.Build refuses it otherwise.
	Layer        *int
	Environments map[string]*StackEnvironment // per-environment overrides
	Pos          Pos
}

// StackEnvironment overrides a stack's settings in one environment.
type StackEnvironment struct {
	Enabled *bool          // nil: follow the stack's flag
	Config  map[string]any // merged over the stack's config
}

// Environment returns the named environment, or nil.
func (m *Manifest) Environment(name string) *Environment {
	for _, e := range m.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Stack returns the named stack, or nil.
func (m *Manifest) Stack(name string) *Stack {
	for _, s := range m.Stacks {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// EnvironmentNames returns the declared environment names in file order.
func (m *Manifest) EnvironmentNames() []string {
	names := make([]string, len(m.Environments))
	for i, e := range m.Environments {
		names[i] = e.Name
	}
	return names
}

// StackNames returns the stack names in file order.
func (m *Manifest) StackNames() []string {
	names := make([]string, len(m.Stacks))
	for i, s := range m.Stacks {
		names[i] = s.Name
	}
	return names
}

// Pos returns where field (a dotted path such as "stacks.app.config.port"
// or "stacks.app.dependencies[1]") was read; ok is false when the field was
// not read from a file.
func (m *Manifest) Pos(field string) (p Pos, ok bool) {
	p, ok = m.pos[field]
	return p, ok
}

// Errorf returns an *Error for field, located at the field's position or,
// when that is unknown, at the nearest enclosing field's.
func (m *Manifest) Errorf(field, format string, args ...any) *Error {
	p := m.nearest(field)
	return newError(m.File, p, field, format, args...)
}

func (m *Manifest) nearest(field string) Pos {
	for f := field; f != ""; f = parentPath(f) {
		if p, ok := m.pos[f]; ok {
			return p
		}
	}
	return Pos{}
}

// parentPath strips the last ".key" or "[i]" from a field path.
func parentPath(f string) string {
	for i := len(f) - 1; i >= 0; i-- {
		if f[i] == '.' || f[i] == '[' {
			return f[:i]
		}
	}
	return ""
}

// DeclaredLayer returns the declared layer, 0 when none is given.
func (s *Stack) DeclaredLayer() int {
	if s.Layer == nil {
		return 0
	}
	return *s.Layer
}

// EnabledIn reports whether the stack is enabled in env: its own flag and
// the environment's override, if any, must both allow it.
func (s *Stack) EnabledIn(env string) bool {
	if !s.Enabled {
		return false
	}
	if o := s.Environments[env]; o != nil && o.Enabled != nil {
		return *o.Enabled
	}
	return true
}

// ConfigFor returns the stack's config in env: the environment's config
// merged over the base config, maps recursively, any other value replacing
// the base one. The result shares nothing with the manifest.
func (s *Stack) ConfigFor(env string) map[string]any {
	out := copyMap(s.Config)
	if o := s.Environments[env]; o != nil {
		mergeInto(out, o.Config)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = copyValue(v)
	}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
