// Package plan turns a manifest and a target environment into the graph of
// stacks to run. It is pure: it reads nothing but the manifest and decides
// nothing about what is already deployed, so the scheduler, the CLI's
// `graph` and `validate` commands and the API can all share it.
package plan

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudplatform/cloud/engine/graph"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/placeholder"
)

// Plan is what will run in one environment.
type Plan struct {
	Manifest    *manifest.Manifest
	Environment *manifest.Environment
	// Graph holds the stacks enabled in the environment, with both explicit
	// and implicit (placeholder) dependencies.
	Graph *graph.Graph
	// Layers is Graph.Layers(), kept for display.
	Layers map[string]int
	// Config is each enabled stack's config in the environment, placeholders
	// not yet resolved.
	Config map[string]map[string]any
	// Implicit lists, per stack, the dependencies that come only from
	// placeholders (not from `dependencies`), sorted; stacks without any are
	// absent.
	Implicit map[string][]string
}

// Build plans env. It does not refuse a disabled environment (destroying
// one still needs its plan); callers check Environment.Enabled.
//
// The error is a manifest.ErrorList naming file, line and field, reporting
// an undeclared environment; dependencies, explicit or through placeholders,
// on unknown or disabled stacks; placeholder syntax errors; a dependency
// cycle (wrapping *graph.CycleError); and declared layers lower than the
// dependencies imply.
func Build(m *manifest.Manifest, env string) (*Plan, error) {
	e := m.Environment(env)
	if e == nil {
		names := m.EnvironmentNames()
		err := m.Errorf("environments", "environment %q is not declared (declared: %s)", env, strings.Join(names, ", "))
		err.Hint = manifest.Suggest(env, names)
		return nil, manifest.ErrorList{err}
	}
	p := &Plan{
		Manifest:    m,
		Environment: e,
		Config:      map[string]map[string]any{},
		Implicit:    map[string][]string{},
	}
	b := builder{m: m, env: env, stacks: make(map[string]*manifest.Stack, len(m.Stacks))}
	for _, s := range m.Stacks {
		b.stacks[s.Name] = s
	}
	deps := map[string][]string{}
	for _, s := range m.Stacks {
		if !s.EnabledIn(env) {
			continue
		}
		p.Config[s.Name] = s.ConfigFor(env)
		deps[s.Name], p.Implicit[s.Name] = b.dependencies(s, p.Config[s.Name])
		if len(p.Implicit[s.Name]) == 0 {
			delete(p.Implicit, s.Name)
		}
	}
	if err := b.errs.Err(); err != nil {
		return nil, err
	}
	g, err := graph.New(deps)
	if err != nil {
		var ce *graph.CycleError
		field := ""
		if errors.As(err, &ce) {
			field = "stacks." + ce.Path[0] + ".dependencies"
		}
		me := m.Errorf(field, "%v", err)
		me.Err = err
		return nil, manifest.ErrorList{me}
	}
	p.Graph, p.Layers = g, g.Layers()
	for _, s := range m.Stacks {
		if l, ok := p.Layers[s.Name]; ok && s.Layer != nil && *s.Layer < l {
			b.errs = append(b.errs, b.layerError(s, *s.Layer, l, p))
		}
	}
	if err := b.errs.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// layerError reports that s declares layer declared but is at layer
// implied, naming the dependency that puts it there: the first at layer
// implied-1, explicit dependencies first.
func (b *builder) layerError(s *manifest.Stack, declared, implied int, p *Plan) *manifest.Error {
	dep, how := "", ""
	for _, d := range s.Dependencies {
		if l, ok := p.Layers[d]; ok && l == implied-1 {
			dep = d
			break
		}
	}
	if dep == "" {
		for _, d := range p.Implicit[s.Name] {
			if p.Layers[d] == implied-1 {
				dep, how = d, " through a placeholder"
				break
			}
		}
	}
	e := b.m.Errorf("stacks."+s.Name+".layer",
		"stack %q declares layer %d, but it depends on %q%s, which is at layer %d, so %q is at layer %d",
		s.Name, declared, dep, how, implied-1, s.Name, implied)
	e.Hint = "layers count from 0, the stacks without dependencies: set layer: " + strconv.Itoa(implied) + " or leave it out"
	return e
}

type builder struct {
	m      *manifest.Manifest
	env    string
	stacks map[string]*manifest.Stack // by name: m.Stack is a linear scan
	errs   manifest.ErrorList
}

// dependencies returns all of s's dependencies in the environment and the
// ones among them that only placeholders in config introduce.
func (b *builder) dependencies(s *manifest.Stack, config map[string]any) (all, implicit []string) {
	path := "stacks." + s.Name
	for i, d := range s.Dependencies {
		if b.check(s, d, path+".dependencies["+strconv.Itoa(i)+"]", "") {
			all = append(all, d)
		}
	}
	placeholder.Walk(config, func(key, str string) error {
		field := b.configField(path, key)
		segs, err := placeholder.Parse(str)
		if err != nil {
			e := b.m.Errorf(field, "%v", err)
			e.Err = err
			b.errs = append(b.errs, e)
			return nil
		}
		for _, seg := range segs {
			if r := seg.Ref; r != nil && r.Kind == placeholder.KindOutput && b.check(s, r.Stack, field, r.Raw) {
				if !slices.Contains(s.Dependencies, r.Stack) {
					implicit = append(implicit, r.Stack)
				}
			}
		}
		return nil
	})
	slices.Sort(implicit)
	implicit = slices.Compact(implicit)
	return append(all, implicit...), implicit
}

// configField names where a config key came from: the environment's
// override when it sets the key, the stack's base config otherwise.
func (b *builder) configField(stackPath, key string) string {
	override := stackPath + ".environments." + b.env + ".config." + key
	if _, ok := b.m.Pos(override); ok {
		return override
	}
	return stackPath + ".config." + key
}

// check reports whether s may depend on dep in the environment, recording
// an error when it may not. via is the placeholder that introduced the
// dependency, "" for an explicit one.
func (b *builder) check(s *manifest.Stack, dep, field, via string) bool {
	through := ""
	if via != "" {
		through = " through " + via
	}
	target := b.stacks[dep]
	var e *manifest.Error
	switch {
	case dep == s.Name:
		e = b.m.Errorf(field, "stack %q depends on itself%s", s.Name, through)
	case target == nil:
		e = b.m.Errorf(field, "stack %q depends on unknown stack %q%s", s.Name, dep, through)
		e.Hint = manifest.Suggest(dep, b.m.StackNames())
	case !target.EnabledIn(b.env):
		e = b.m.Errorf(field, "stack %q depends on %q%s, which is disabled in %s", s.Name, dep, through, b.env)
	default:
		return true
	}
	b.errs = append(b.errs, e)
	return false
}
