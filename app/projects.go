package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/stacks/project"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
)

// findProgram finds the program a manifest's `program:` names: a project
// stack registered from a directory, else a stack program by name.
func (a *App) findProgram(ctx context.Context, name string) (runner.Program, error) {
	st, err := a.db.StackTemplate(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return runner.Program{}, err
	}
	if err == nil {
		if dir := projectDir(st); dir != "" {
			prog, err := a.locator.FindProject(dir)
			if err != nil {
				return prog, fmt.Errorf("project stack %s (registered from %s): %w", name, dir, err)
			}
			prog.Name = name
			return prog, nil
		}
	}
	return a.locator.Find(name)
}

// projectDir is the directory a project stack was registered from; empty
// for a stack program.
func projectDir(st *store.StackTemplate) string {
	var t protocol.Template
	if err := json.Unmarshal(st.Template, &t); err != nil || t.Project == nil {
		return ""
	}
	return t.Project.Dir
}

// describe returns a program's template. A project is read here, from its
// Pulumi.yaml, rather than through a runner: no process to start, and an
// unreadable project is a clear usage error, never a program's output.
func (a *App) describe(ctx context.Context, c *runner.Client, prog runner.Program) (protocol.Template, error) {
	if prog.Project == "" {
		return c.Describe(ctx, prog)
	}
	p, err := project.Load(prog.Project)
	if err != nil {
		return protocol.Template{}, usagef("%v", err)
	}
	t := p.Template()
	t.Name = prog.Name
	return t, nil
}

// checkLanguageHosts refuses a run before anything starts when a project
// stack's runtime has no language host on this machine.
func (r *run) checkLanguageHosts() error {
	home := filepath.Join(r.app.cfg.Home, "pulumi")
	checked := map[string]bool{}
	for _, name := range r.graph.Order() {
		t, ok := r.template(name)
		if !ok || t.Project == nil || checked[t.Project.Runtime] {
			continue
		}
		checked[t.Project.Runtime] = true
		if _, err := project.LanguageHost(t.Project.Runtime, r.client.Pulumi, home); err != nil {
			return usagef("stack %s (project %s): %v", name, t.Project.Dir, err)
		}
	}
	return nil
}

// recordOutputs adds to a project stack's registration the outputs a
// deploy exported that it did not declare, with the types they had, so
// later previews and validations know their names and types. Nothing
// changes (no new version) when the deploy exported nothing new.
func (a *App) recordOutputs(ctx context.Context, program string, outputs map[string]protocol.Value) error {
	st, err := a.db.StackTemplate(ctx, program)
	if err != nil {
		return stackNotFound(err, program)
	}
	var reg registration
	if err := json.Unmarshal(st.Template, &reg); err != nil || reg.Project == nil {
		return err
	}
	changed := false
	for _, k := range sortedKeys(outputs) {
		v := outputs[k]
		typ := typeOf(v.Value)
		if typ == "" {
			continue
		}
		if old, ok := reg.Outputs[k]; ok && old.Type == typ && (old.Secret || !v.Secret) {
			continue
		}
		if reg.Outputs == nil {
			reg.Outputs = map[string]protocol.Output{}
		}
		o := reg.Outputs[k]
		o.Type, o.Secret, o.Recorded = typ, o.Secret || v.Secret, true
		reg.Outputs[k] = o
		changed = true
	}
	if !changed {
		return nil
	}
	reg.AnyOutputs = false
	return a.putRegistration(ctx, program, reg, st.Source, st.ProgramHash)
}
