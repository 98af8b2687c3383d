package app

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/engine/graph"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/placeholder"
	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// preflight checks everything an operation needs before anything is
// recorded, each once: the request, the deployment and its manifest, the
// caller's access, the plan and its validation, the stacks selected, the
// Pulumi CLI, the stacks' programs and their language hosts, and the
// outputs their config refers to. It returns the run ready to execute and
// the manifest revision it runs.
func (a *App) preflight(ctx context.Context, req RunRequest) (*run, int, error) {
	switch req.Kind {
	case vocab.KindDeploy, vocab.KindDestroy, vocab.KindPreview, vocab.KindRollback, vocab.KindRefresh:
	default:
		return nil, 0, usagef("unknown operation kind %q", req.Kind)
	}
	d, err := a.db.Deployment(ctx, req.DeploymentID)
	if err != nil {
		return nil, 0, a.notFound(err, req.DeploymentID)
	}
	m, rev, err := a.Manifest(ctx, req.DeploymentID)
	if err != nil {
		return nil, 0, err
	}
	env := m.Environment(req.Environment)
	if env == nil {
		return nil, 0, noEnvironment(m, req.Environment)
	}
	need := accessOperate
	if req.Kind == vocab.KindPreview {
		need = accessPreview
	}
	if err := authorize(ctx, need, fmt.Sprintf("%s %s of %s", req.Kind, env.Name, d.ID), env); err != nil {
		return nil, 0, err
	}
	if !env.Enabled && (req.Kind.Deploys() || req.Kind == vocab.KindPreview) {
		return nil, 0, fmt.Errorf("%w: environment %s of deployment %s is disabled; enable it with `cloud enable-environment %s %s`",
			ErrDisabled, env.Name, d.ID, d.ID, env.Name)
	}
	p, err := plan.Build(m, env.Name)
	if err != nil {
		return nil, 0, err
	}
	if (req.Kind.Deploys() || req.Kind == vocab.KindPreview) && !req.SkipValidation {
		// What ValidateDeployment checks, on the plan just built.
		v := &Validation{DeploymentID: d.ID, Environments: []string{env.Name}, Findings: a.checkPulumi()}
		v.Findings = append(v.Findings, checkPlan(p, a.templateLookup(ctx))...)
		if v.Errors() > 0 {
			return nil, 0, &ValidationError{Validation: v}
		}
	}
	states, err := a.stateMap(ctx, d.ID, env.Name)
	if err != nil {
		return nil, 0, err
	}
	selected, err := a.selectStacks(ctx, req, p, states)
	if err != nil {
		return nil, 0, err
	}
	g := p.Graph.Subgraph(selected)
	if req.Kind == vocab.KindDestroy {
		g = g.Reverse()
	}
	client, err := a.runnerClient()
	if err != nil {
		return nil, 0, err
	}
	r := &run{app: a, req: req, dep: d, man: m, env: env, plan: p, graph: g, states: states, before: maps.Clone(states),
		client: client, programs: map[string]runner.Program{}, templates: map[string]protocol.Template{},
		started: map[string]time.Time{}, changed: map[string]bool{}, results: map[string]*StackResult{}, configs: map[string]json.RawMessage{}}
	if err := r.loadPrograms(ctx); err != nil {
		return nil, 0, err
	}
	if err := r.checkLanguageHosts(); err != nil {
		return nil, 0, err
	}
	if req.Kind.Deploys() || req.Kind == vocab.KindPreview {
		if err := r.checkReferences(ctx); err != nil {
			return nil, 0, err
		}
	}
	return r, rev.Revision, nil
}

// run is one operation in progress.
type run struct {
	app    *App
	req    RunRequest
	dep    *store.Deployment
	man    *manifest.Manifest
	env    *manifest.Environment
	plan   *plan.Plan
	graph  *graph.Graph
	states map[string]store.StackState
	// before is every stack's state when the operation began.
	before map[string]store.StackState
	client *runner.Client
	op     *store.Operation

	programs  map[string]runner.Program // by stack
	templates map[string]protocol.Template

	mu      sync.Mutex // guards started, changed, results, configs and event order
	started map[string]time.Time
	// changed holds the stacks whose engine changed a resource in this
	// run: a cancelled one that changed nothing keeps its previous state.
	changed map[string]bool
	results map[string]*StackResult
	// configs holds each stack's resolved config (JSON), recorded with its
	// result so a rollback can replay it.
	configs map[string]json.RawMessage
}

// loadPrograms finds every selected stack's program and its template.
func (r *run) loadPrograms(ctx context.Context) error {
	for _, name := range r.graph.Nodes() {
		s := r.man.Stack(name)
		prog, err := r.app.findProgram(ctx, s.Program)
		if err != nil {
			return fmt.Errorf("stack %s: %w", name, err)
		}
		r.programs[name] = prog
		if _, ok := r.templates[s.Program]; ok {
			continue
		}
		t, err := r.app.programTemplate(ctx, r.client, prog)
		if err != nil {
			return fmt.Errorf("stack %s: %w", name, err)
		}
		r.templates[s.Program] = t
	}
	return nil
}

// programTemplate returns a program's template, asking the program only
// when its identity changed since it was last described.
func (a *App) programTemplate(ctx context.Context, c *runner.Client, prog runner.Program) (protocol.Template, error) {
	var t protocol.Template
	if st, err := a.db.StackTemplate(ctx, prog.Name); err == nil && st.ProgramHash == prog.Identity {
		if err := json.Unmarshal(st.Template, &t); err == nil {
			return t, nil
		}
	}
	t, err := a.describe(ctx, c, prog)
	if err != nil {
		return t, err
	}
	// A rebuilt program keeps what the registry added to it; an edited
	// project keeps the outputs its deploys recorded.
	reg := registration{Template: t}
	if old, err := a.registration(ctx, prog.Name); err == nil {
		reg.Priority = old.Priority
		if t.Project != nil {
			for k, o := range old.Outputs {
				if _, ok := reg.Outputs[k]; !ok {
					if reg.Outputs == nil {
						reg.Outputs = map[string]protocol.Output{}
					}
					reg.Outputs[k] = o
					reg.AnyOutputs = false
				}
			}
			t = reg.Template
		}
	}
	return t, a.putRegistration(ctx, prog.Name, reg, prog.Source(), prog.Identity)
}

// template returns the template of a stack's program (known or not).
func (r *run) template(stack string) (protocol.Template, bool) {
	s := r.man.Stack(stack)
	if s == nil {
		return protocol.Template{}, false
	}
	t, ok := r.templates[s.Program]
	return t, ok
}

// checkReferences resolves every selected stack's config before anything
// runs, with stand-ins for outputs not produced yet, so that a reference to
// an output that no stack will have fails now, naming stack, key and
// reference.
func (r *run) checkReferences(ctx context.Context) error {
	outs, err := r.app.db.AllOutputs(ctx, r.dep.ID, r.env.Name)
	if err != nil {
		return err
	}
	lookup := r.lookup(outs, true)
	for _, name := range r.graph.Nodes() {
		if _, _, err := r.resolveConfig(name, lookup); err != nil {
			return err
		}
	}
	return nil
}

// explainSealed adds to a resolution error the secret outputs that exist
// but were sealed on another machine (sync copies secrets sealed with the
// machine's own key), which is why a reference to one could not resolve.
func explainSealed(err error, outs map[string]map[string]store.Output) error {
	var sealed []string
	for stack, byName := range outs {
		for name, o := range byName {
			if o.Sealed && strings.Contains(err.Error(), stack+"."+name) {
				sealed = append(sealed, stack+"."+name)
			}
		}
	}
	if len(sealed) == 0 {
		return err
	}
	sort.Strings(sealed)
	return fmt.Errorf("%w: %s is a secret sealed with another machine's secrets key (synced from it) and cannot be read here; deploy that stack on this machine, or give both machines the same key file", err, strings.Join(sealed, ", "))
}

// lookup finds the outputs placeholders refer to: the stored ones, and mock
// outputs in a preview. Before the run (beforeRun), a stack that will run in
// this operation provides every output its program declares, as a mock:
// its real value does not exist yet.
func (r *run) lookup(outs map[string]map[string]store.Output, beforeRun bool) func(stack, output string) (placeholder.Value, bool) {
	return func(stack, output string) (placeholder.Value, bool) {
		if beforeRun && r.graph.Has(stack) {
			return r.mock(stack, output)
		}
		if v, ok := outs[stack][output]; ok && !v.Sealed {
			return placeholder.Value{Value: v.Value, Secret: v.Secret}, true
		}
		if r.req.Kind == vocab.KindPreview {
			return r.mock(stack, output)
		}
		return placeholder.Value{}, false
	}
}

// mock returns a mock of an output the stack's program declares.
func (r *run) mock(stack, output string) (placeholder.Value, bool) {
	t, ok := r.template(stack)
	if !ok || !declares(t, r.plan.Config[stack], output) {
		return placeholder.Value{}, false
	}
	return mockValue(stack, output, t), true
}

// declares reports whether a program exports an output: declared in its
// template, or, for programs that echo their inputs (the probe), given as
// an input.
func declares(t protocol.Template, config map[string]any, output string) bool {
	if _, ok := t.Outputs[output]; ok || t.AnyOutputs {
		return true
	}
	if t.AnyInputs && t.Project == nil {
		_, ok := config[output]
		return ok
	}
	return false
}
