package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/engine/graph"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/placeholder"
	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/engine/scheduler"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// RunRequest asks for one operation on one environment of a deployment.
type RunRequest struct {
	DeploymentID string
	Environment  string
	Kind         vocab.Kind // deploy, destroy or preview
	// Stacks limits the run to these stacks (deploy-stack, destroy-stack).
	Stacks []string
	// WithDependencies also deploys the dependencies of Stacks.
	WithDependencies bool
	// Cascade also runs the stacks that depend on Stacks, in graph order;
	// smart skip leaves those whose resolved inputs did not change.
	Cascade  bool
	Parallel int
	FailFast bool
	// Force disables smart skip (deploy) or the dependents check
	// (destroy-stack).
	Force bool
	// Resume re-runs what failed, was skipped or interrupted in the last
	// deploy, then continues downstream.
	Resume bool
	// Command and Flags are recorded on the operation.
	Command string
	Flags   map[string]any
	// SkipValidation skips checking the config against the stack
	// templates before a deploy, rollback or preview.
	SkipValidation bool
	// Pinned gives stacks the resolved config to run with instead of
	// resolving their manifest config (a rollback replays what an earlier
	// operation ran).
	Pinned map[string]map[string]protocol.Value
	// Observer sees every event once it is stored, in order.
	Observer func(store.Event)
	// Started is called once the operation is recorded, before any stack
	// runs.
	Started func(op *store.Operation, layers map[string]int)
	// RequireLock refuses to run a deploy, destroy or rollback whose team
	// lock could not be taken (sync unreachable or not configured),
	// instead of running it with a warning.
	RequireLock bool
	// Warn is told what the user must know but does not stop the run: the
	// team lock was not taken.
	Warn func(msg string)
}

// Report is the outcome of an operation.
type Report struct {
	Operation *store.Operation
	Stacks    []StackResult
	Layers    map[string]int
}

// StackResult is how one stack fared in an operation.
type StackResult struct {
	Stack         string
	Status        vocab.StackStatus
	Reason        string
	Error         string
	Changes       map[string]int
	ResourceCount int
	Duration      time.Duration
}

// Run performs a deploy, preview or destroy and returns when it ends. The
// operation, every stack transition and every engine event are stored as
// they happen. The error is non-nil when the operation could not start, or
// wraps ErrFailed / ErrCancelled when it ran and did not succeed (the report
// is returned then too).
func (a *App) Run(ctx context.Context, req RunRequest) (*Report, error) {
	switch req.Kind {
	case vocab.KindDeploy, vocab.KindDestroy, vocab.KindPreview, vocab.KindRollback, vocab.KindRefresh:
	default:
		return nil, usagef("unknown operation kind %q", req.Kind)
	}
	d, err := a.db.Deployment(ctx, req.DeploymentID)
	if err != nil {
		return nil, a.notFound(err, req.DeploymentID)
	}
	m, rev, err := a.Manifest(ctx, req.DeploymentID)
	if err != nil {
		return nil, err
	}
	env := m.Environment(req.Environment)
	if env == nil {
		return nil, noEnvironment(m, req.Environment)
	}
	need := accessOperate
	if req.Kind == vocab.KindPreview {
		need = accessPreview
	}
	if err := authorize(ctx, need, fmt.Sprintf("%s %s of %s", req.Kind, env.Name, d.ID), env); err != nil {
		return nil, err
	}
	if !env.Enabled && (req.Kind.Deploys() || req.Kind == vocab.KindPreview) {
		return nil, fmt.Errorf("%w: environment %s of deployment %s is disabled; enable it with `cloud enable-environment %s %s`",
			ErrDisabled, env.Name, d.ID, d.ID, env.Name)
	}
	p, err := plan.Build(m, env.Name)
	if err != nil {
		return nil, err
	}
	if (req.Kind.Deploys() || req.Kind == vocab.KindPreview) && !req.SkipValidation {
		v, err := a.ValidateDeployment(ctx, d.ID, env.Name)
		if err != nil {
			return nil, err
		}
		if v.Errors() > 0 {
			return nil, &ValidationError{Validation: v}
		}
	}
	states, err := a.stateMap(ctx, d.ID, env.Name)
	if err != nil {
		return nil, err
	}
	selected, err := a.selectStacks(ctx, req, p, states)
	if err != nil {
		return nil, err
	}
	g := p.Graph.Subgraph(selected)
	if req.Kind == vocab.KindDestroy {
		g = g.Reverse()
	}
	client, err := a.runnerClient()
	if err != nil {
		return nil, err
	}
	r := &run{app: a, req: req, dep: d, man: m, env: env, plan: p, graph: g, states: states, before: maps.Clone(states),
		client: client, programs: map[string]runner.Program{}, templates: map[string]protocol.Template{},
		started: map[string]time.Time{}, changed: map[string]bool{}, results: map[string]*StackResult{}, configs: map[string]json.RawMessage{}}
	if err := r.loadPrograms(ctx); err != nil {
		return nil, err
	}
	if err := r.checkLanguageHosts(); err != nil {
		return nil, err
	}
	if req.Kind.Deploys() || req.Kind == vocab.KindPreview {
		if err := r.checkReferences(ctx); err != nil {
			return nil, err
		}
	}
	return r.execute(ctx, rev.Revision)
}

// noEnvironment is the usage error of an environment the deployment has
// not, naming those it has.
func noEnvironment(m *manifest.Manifest, env string) error {
	return usagef("deployment %s has no environment %q (have: %s)", m.DeploymentID, env, envNames(m))
}

func envNames(m *manifest.Manifest) string {
	var names []string
	for _, e := range m.Environments {
		names = append(names, e.Name)
	}
	return strings.Join(names, ", ")
}

func (a *App) stateMap(ctx context.Context, id, env string) (map[string]store.StackState, error) {
	list, err := a.db.StackStates(ctx, id, env)
	if err != nil {
		return nil, err
	}
	states := make(map[string]store.StackState, len(list))
	for _, s := range list {
		states[s.Stack] = s
	}
	return states, nil
}

// deployed reports whether a stack has resources in the environment.
func deployed(s store.StackState) bool {
	switch s.Status {
	case vocab.StackDeployed, vocab.StackFailed, vocab.StackInterrupted, vocab.StackDeploying, vocab.StackDestroying:
		// A failed or interrupted stack may hold resources from a partial
		// update; destroy must visit it.
		return s.ResourceCount > 0 || s.Status == vocab.StackDeployed
	}
	return false
}

// selectStacks decides which stacks of the plan the operation runs.
func (a *App) selectStacks(ctx context.Context, req RunRequest, p *plan.Plan, states map[string]store.StackState) ([]string, error) {
	all := p.Graph.Nodes()
	inPlan := map[string]bool{}
	for _, n := range all {
		inPlan[n] = true
	}
	for _, s := range req.Stacks {
		if !inPlan[s] {
			if p.Manifest.Stack(s) == nil {
				return nil, usagef("deployment %s has no stack %q", p.Manifest.DeploymentID, s)
			}
			return nil, usagef("stack %s is disabled in %s", s, p.Environment.Name)
		}
	}
	switch {
	case req.Resume:
		if req.Kind != vocab.KindDeploy {
			return nil, usagef("--resume applies to deploy only")
		}
		last, err := a.db.LastOperation(ctx, p.Manifest.DeploymentID, p.Environment.Name, vocab.KindDeploy, vocab.KindRollback)
		if errors.Is(err, store.ErrNotFound) {
			return nil, usagef("nothing to resume: no earlier deploy of %s", p.Environment.Name)
		}
		if err != nil {
			return nil, err
		}
		ops, err := a.db.OperationStacks(ctx, last.ID)
		if err != nil {
			return nil, err
		}
		var again []string
		for _, s := range ops {
			switch s.Status {
			case vocab.StackFailed, vocab.StackSkipped, vocab.StackInterrupted, vocab.StackCancelled, vocab.StackPending, vocab.StackDeploying:
				if inPlan[s.Stack] {
					again = append(again, s.Stack)
				}
			}
		}
		if len(again) == 0 {
			return nil, usagef("nothing to resume: the last deploy (%s) left no failed, skipped or interrupted stack", last.ID)
		}
		return union(again, p.Graph.Descendants(again...)), nil
	case len(req.Stacks) == 0:
		return all, nil
	case req.Kind == vocab.KindDestroy:
		if !req.Force {
			for _, s := range req.Stacks {
				for _, dep := range p.Graph.Descendants(s) {
					if deployed(states[dep]) && !slices.Contains(req.Stacks, dep) {
						return nil, usagef("stack %s has deployed dependents (%s) in %s; destroy them first or use --force",
							s, dep, p.Environment.Name)
					}
				}
			}
		}
		return req.Stacks, nil
	case req.WithDependencies:
		return union(req.Stacks, p.Graph.Ancestors(req.Stacks...)), nil
	default:
		if req.Kind.Deploys() {
			for _, s := range req.Stacks {
				for _, dep := range p.Graph.Ancestors(s) {
					if slices.Contains(req.Stacks, dep) {
						continue
					}
					if states[dep].Status != vocab.StackDeployed {
						return nil, usagef("stack %s depends on %s, which is not deployed in %s; deploy it first or use --with-dependencies",
							s, dep, p.Environment.Name)
					}
				}
			}
		}
		if req.Cascade {
			return union(req.Stacks, p.Graph.Descendants(req.Stacks...)), nil
		}
		return req.Stacks, nil
	}
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
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

// execute records the operation and runs the scheduler over the graph.
func (r *run) execute(ctx context.Context, revision int) (*Report, error) {
	// The team lock comes first: a machine refused by it must not record
	// an operation, nor hold the local lock meanwhile.
	held, warning, err := r.acquireTeamLock(ctx)
	if err != nil {
		return nil, err
	}
	release := func(context.Context) error { return nil }
	if held != nil {
		var once sync.Once
		var rerr error
		release = func(ctx context.Context) error {
			once.Do(func() {
				// The caller's context may be cancelled already: freeing
				// the lock must still be tried, briefly.
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				rerr = held.Release(ctx)
			})
			return rerr
		}
		defer release(ctx)
	}
	if warning != "" && r.req.Warn != nil {
		r.req.Warn(warning)
	}
	flags := r.req.Flags
	if held != nil {
		// The fencing token is kept on the operation, so its record says
		// which acquisition of the team lock it ran under.
		flags = make(map[string]any, len(r.req.Flags)+1)
		for k, v := range r.req.Flags {
			flags[k] = v
		}
		flags["teamLockToken"] = held.Token()
	}
	pid, pidStart, host := store.ProcessIdentity()
	op := &store.Operation{
		DeploymentID: r.dep.ID, Environment: r.env.Name,
		Kind: r.req.Kind, Status: vocab.OpRunning, Revision: revision, Command: r.req.Command, Flags: callerFlags(ctx, flags),
		Actor: r.app.actor(ctx), Host: host, PID: pid, PIDStart: pidStart, StartedAt: r.app.cfg.Now().UTC(),
	}
	if err := r.app.db.BeginOperation(ctx, op); err != nil {
		return nil, err
	}
	r.op = op
	// Cancel (an API call) stops an operation of this process through
	// its context.
	ctx, cancel := context.WithCancel(ctx)
	r.app.bg.track(op.ID, cancel)
	defer func() { r.app.bg.untrack(op.ID); cancel() }()
	// From here on the operation is recorded: it must end with a status
	// even when the caller's context is cancelled, so bookkeeping uses a
	// context of its own.
	bg := context.WithoutCancel(ctx)
	// The store wrote the operation's first event (running) itself.
	r.replay(bg, 0)
	switch {
	case held != nil:
		r.event(bg, "", vocab.EventTeamLock, map[string]any{"taken": true, "token": held.Token(),
			"holder": held.Holder(), "until": held.Until().UTC()})
		// A lock taken over mid-run means another machine may be changing
		// the same environment: stop rather than race it.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-held.Lost():
				r.event(bg, "", vocab.EventTeamLock, map[string]any{"lost": true, "token": held.Token(),
					"reason": "the team lock was broken or taken over; cancelling the operation"})
				cancel()
			case <-done:
			}
		}()
	case warning != "":
		r.event(bg, "", vocab.EventTeamLock, map[string]any{"taken": false, "reason": warning})
	}
	r.event(bg, "", vocab.EventPlan, map[string]any{"kind": op.Kind, "stacks": r.graph.Nodes(),
		"layers": r.graph.Layers(), "revision": revision})
	for _, name := range r.graph.Order() {
		r.transition(bg, name, vocab.StackPending, "", nil, false)
	}
	if r.req.Started != nil {
		r.req.Started(op, r.graph.Layers())
	}

	height := heights(r.graph)
	outcomes := scheduler.Run(ctx, r.graph, scheduler.Options{
		Parallel: r.req.Parallel,
		FailFast: r.req.FailFast,
		Priority: func(n string) float64 { return float64(height[n]) },
		OnSkip: func(n, reason string) {
			status := vocab.StackSkipped
			if strings.Contains(reason, "cancelled") {
				status = vocab.StackCancelled
			}
			r.transition(bg, n, status, reason, nil, false)
		},
	}, func(ctx context.Context, name string) error {
		return r.runStack(ctx, bg, name)
	})

	status := vocab.OpSucceeded
	var failed []string
	for _, n := range r.graph.Order() {
		switch outcomes[n].Status {
		case scheduler.Failed:
			failed = append(failed, n)
			status = vocab.OpFailed
		case scheduler.Cancelled:
			if status != vocab.OpFailed {
				status = vocab.OpCancelled
			}
		case scheduler.Skipped:
			if status == vocab.OpSucceeded {
				status = vocab.OpFailed
			}
		}
	}
	// Free the team lock as soon as the stacks are done; a release that
	// fails is recorded (the lease then lapses at its end).
	if err := release(bg); err != nil {
		r.event(bg, "", vocab.EventTeamLock, map[string]any{"released": false, "reason": err.Error()})
	}
	report := r.report()
	summary := map[string]any{}
	for _, s := range report.Stacks {
		summary[string(s.Status)] = toInt(summary[string(s.Status)]) + 1
	}
	errText := ""
	if len(failed) > 0 {
		errText = "failed: " + strings.Join(failed, ", ")
	} else if status == vocab.OpCancelled {
		errText = "cancelled"
	}
	last, err := r.app.db.LastEvents(bg, op.ID, 1)
	if err != nil {
		return nil, err
	}
	if err := r.app.db.FinishOperation(bg, op.ID, status, errText, summary); err != nil {
		return nil, err
	}
	// The store writes the operation's final event itself.
	if len(last) > 0 {
		r.replay(bg, last[0].Seq)
	}
	if op, err := r.app.db.Operation(bg, op.ID); err == nil {
		report.Operation = op
	}
	switch status {
	case vocab.OpFailed:
		return report, fmt.Errorf("%w: %s", ErrFailed, errText)
	case vocab.OpCancelled:
		return report, ErrCancelled
	}
	return report, nil
}

func toInt(v any) int {
	i, _ := v.(int)
	return i
}

// heights is each node's longest chain of dependents, counted in stacks:
// starting long chains first shortens the whole run.
func heights(g *graph.Graph) map[string]int {
	h := map[string]int{}
	order := g.Order()
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		best := 0
		for _, d := range g.Dependents(n) {
			best = max(best, h[d])
		}
		h[n] = best + 1
	}
	return h
}

// runStack performs the operation on one stack. ctx is cancelled when the
// user cancels; bg is for recording, which must go on.
func (r *run) runStack(ctx, bg context.Context, name string) error {
	switch r.req.Kind {
	case vocab.KindDestroy:
		return r.destroyStack(ctx, bg, name)
	case vocab.KindRefresh:
		return r.refreshStack(ctx, bg, name)
	default:
		return r.upStack(ctx, bg, name)
	}
}

func (r *run) upStack(ctx, bg context.Context, name string) error {
	outs, err := r.app.db.AllOutputs(bg, r.dep.ID, r.env.Name)
	if err != nil {
		return r.fail(bg, name, err)
	}
	cfg, mocked, err := r.resolveConfig(name, r.lookup(outs, false))
	if pinned, ok := r.req.Pinned[name]; ok {
		cfg, mocked, err = pinned, nil, nil
	}
	if err != nil {
		return r.fail(bg, name, explainSealed(err, outs))
	}
	if r.req.Kind.Deploys() {
		body, err := json.Marshal(cfg)
		if err != nil {
			return r.fail(bg, name, err)
		}
		r.mu.Lock()
		r.configs[name] = body
		r.mu.Unlock()
	}
	previewNote := ""
	if len(mocked) > 0 {
		// Say which inputs are stand-ins, so a preview is never mistaken
		// for what the deploy will do with real upstream values.
		previewNote = "mock outputs for " + strings.Join(mocked, ", ")
		r.event(bg, name, vocab.EventLog, protocol.Log{Level: "info",
			Text: "preview with mock outputs of stacks not deployed yet for config " + strings.Join(mocked, ", ")})
	}
	prog := r.programs[name]
	hash := r.configHash(prog, cfg)
	prev := r.states[name]
	if r.req.Kind.Deploys() && !r.req.Force && prev.Status == vocab.StackDeployed && prev.ConfigHash == hash {
		r.mu.Lock()
		r.result(name).ResourceCount = prev.ResourceCount
		r.mu.Unlock()
		r.transition(bg, name, vocab.StackUnchanged, "config, program and upstream outputs unchanged since "+prev.LastOperationID, nil, false)
		return nil
	}
	if r.req.Kind == vocab.KindPreview {
		r.transition(bg, name, vocab.StackDeploying, "preview", nil, false)
	} else {
		r.transition(bg, name, vocab.StackDeploying, "", nil, true)
	}
	op := protocol.Up
	if r.req.Kind == vocab.KindPreview {
		op = protocol.Preview
	}
	res, err := r.runProgram(ctx, bg, name, prev, op, cfg)
	if err != nil {
		return r.fail(bg, name, err)
	}
	if r.req.Kind == vocab.KindPreview {
		r.transition(bg, name, vocab.StackPreviewed, previewNote, res, false)
		return nil
	}
	outputs := make(map[string]store.Output, len(res.Outputs))
	for k, v := range res.Outputs {
		secret := v.Secret
		if t, ok := r.template(name); ok && t.Outputs[k].Secret {
			secret = true
		}
		outputs[k] = store.Output{Value: v.Value, Secret: secret}
	}
	if err := r.app.db.SetOutputs(bg, r.dep.ID, r.env.Name, name, outputs); err != nil {
		return r.fail(bg, name, err)
	}
	if r.programs[name].Project != "" {
		if err := r.app.recordOutputs(bg, r.man.Stack(name).Program, res.Outputs); err != nil {
			r.eventAt(bg, name, vocab.EventLog, time.Now(), &protocol.Log{Level: "warning", Text: "record the outputs of project " + r.programs[name].Project + ": " + err.Error()})
		}
	}
	// The hash is of what this run deployed; recompute nothing.
	r.finish(bg, name, vocab.StackDeployed, "", res, hash)
	return nil
}

func (r *run) destroyStack(ctx, bg context.Context, name string) error {
	prev := r.states[name]
	if !deployed(prev) {
		reason := "never deployed"
		if prev.Status == vocab.StackDestroyed {
			reason = "already destroyed"
		}
		r.transition(bg, name, vocab.StackSkipped, reason, nil, false)
		return nil
	}
	r.transition(bg, name, vocab.StackDestroying, "", nil, true)
	res, err := r.runProgram(ctx, bg, name, prev, protocol.Destroy, nil)
	if err != nil {
		return r.fail(bg, name, err)
	}
	if err := r.app.db.SetOutputs(bg, r.dep.ID, r.env.Name, name, nil); err != nil {
		return r.fail(bg, name, err)
	}
	r.finish(bg, name, vocab.StackDestroyed, "", res, "")
	return nil
}

// driftedPrefix starts the reason of a stack state a refresh found drifted.
const driftedPrefix = "drifted: "

// refreshStack compares a deployed stack with its real resources. Drift is
// recorded on the stack's state (reason, and a cleared config hash so the
// next deploy runs it and repairs the drift); nothing else changes.
func (r *run) refreshStack(ctx, bg context.Context, name string) error {
	prev := r.states[name]
	if !deployed(prev) {
		r.transition(bg, name, vocab.StackSkipped, "not deployed", nil, false)
		return nil
	}
	r.transition(bg, name, vocab.StackRefreshing, "", nil, false)
	res, err := r.runProgram(ctx, bg, name, prev, protocol.Refresh, nil)
	if err != nil {
		return r.fail(bg, name, err)
	}
	st := prev
	if len(res.Drift) == 0 {
		if strings.HasPrefix(prev.Reason, driftedPrefix) {
			st.Reason = "" // put back by hand since the last refresh
		}
		st.LastOperationID = r.op.ID
		r.record(bg, name, vocab.StackInSync, "", res, &st)
		return nil
	}
	var what []string
	for _, d := range res.Drift {
		what = append(what, d.Op+" "+d.Resource+" "+d.Name)
	}
	reason := driftedPrefix + strings.Join(what, ", ")
	st.Reason, st.ConfigHash, st.LastOperationID = reason, "", r.op.ID
	r.record(bg, name, vocab.StackDrifted, reason, res, &st)
	return nil
}

// runProgram runs the stack's program and records its events as they come.
//
// prev is the stack's state before this operation touched it: it says
// whether an earlier run was interrupted (clear its lock) or a refresh found
// drift (refresh before the update).
func (r *run) runProgram(ctx, bg context.Context, name string, prev store.StackState, op protocol.Operation, cfg map[string]protocol.Value) (*protocol.Result, error) {
	req := protocol.Request{
		Operation:  op,
		Project:    manifest.ProjectName(r.man),
		Stack:      name + "-" + r.env.Name,
		Backend:    r.app.backendURL(r.man.Backend),
		WorkDir:    filepath.Join(r.app.cfg.Home, "workspaces", r.dep.ID, name+"-"+r.env.Name),
		PulumiHome: filepath.Join(r.app.cfg.Home, "pulumi"),
		Config:     cfg,
		ClearLock:  prev.Status == vocab.StackInterrupted || prev.Status == vocab.StackDeploying || prev.Status == vocab.StackDestroying,
		// Drift found by an earlier refresh is repaired by refreshing the
		// state before the update.
		RefreshFirst: op == protocol.Up && strings.HasPrefix(prev.Reason, driftedPrefix),
		Context: protocol.Context{
			DeploymentID: r.man.DeploymentID, Organization: r.man.Organization, Project: r.man.Project,
			Environment: r.env.Name, Region: r.env.Region, AccountID: r.env.AccountID,
			Stack: name, Domain: r.man.Domain,
		},
	}
	res, err := r.client.Run(ctx, r.programs[name], req, func(m protocol.Message) {
		switch m.Kind {
		case protocol.KindEvent:
			// The Pulumi stack resource itself is not one of the stack's
			// resources (it is created with the stack's first run).
			if e := m.Event; e != nil && e.Type == protocol.EventResourceDone && changes(e.Op) && e.Resource != "pulumi:pulumi:Stack" {
				r.mu.Lock()
				r.changed[name] = true
				r.mu.Unlock()
			}
			r.eventAt(bg, name, vocab.EventEngine, m.Time, m.Event)
		case protocol.KindLog:
			r.eventAt(bg, name, vocab.EventLog, m.Time, m.Log)
		}
	})
	if err != nil {
		return nil, err
	}
	if res.Error != "" {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return res, &stackError{msg: res.Error, result: res}
	}
	return res, nil
}

// stackError is a stack program's own failure, with its partial result.
type stackError struct {
	msg    string
	result *protocol.Result
}

func (e *stackError) Error() string { return e.msg }

// fail records a stack's failure and returns the error for the scheduler.
func (r *run) fail(bg context.Context, name string, err error) error {
	if errors.Is(err, context.Canceled) {
		r.transition(bg, name, vocab.StackCancelled, "operation cancelled", nil, true)
		return err
	}
	var res *protocol.Result
	var se *stackError
	if errors.As(err, &se) {
		res = se.result
	}
	// A runner or engine that died did not fail: it was stopped part-way,
	// and the next run clears the engine lock it left.
	status := vocab.StackFailed
	var died *runner.DiedError
	if errors.As(err, &died) {
		status = vocab.StackInterrupted
		if died.Stderr != "" {
			r.event(bg, name, vocab.EventLog, protocol.Log{Level: "error", Text: "the runner's stderr:\n" + died.Stderr})
		}
	} else if res != nil && res.Interrupted {
		status = vocab.StackInterrupted
	}
	r.mu.Lock()
	sr := r.result(name)
	sr.Error = err.Error()
	r.mu.Unlock()
	if r.req.Kind == vocab.KindPreview {
		r.transition(bg, name, status, "", res, false)
	} else {
		r.finish(bg, name, status, "", res, "")
	}
	return err
}

// finish records a stack's final state after it ran.
func (r *run) finish(bg context.Context, name string, status vocab.StackStatus, reason string, res *protocol.Result, hash string) {
	st := store.StackState{DeploymentID: r.dep.ID, Environment: r.env.Name, Stack: name, Status: status,
		Reason: reason, LastOperationID: r.op.ID, ConfigHash: hash}
	prev := r.states[name]
	st.ResourceCount = prev.ResourceCount
	if res != nil && (status == vocab.StackDeployed || res.ResourceCount > 0) {
		st.ResourceCount = res.ResourceCount
	}
	if status == vocab.StackDestroyed {
		st.ResourceCount = 0
	}
	if reason == "" && (status == vocab.StackFailed || status == vocab.StackInterrupted) {
		// The state says why, as a skipped stack's does: the first line of
		// the error (the operation keeps the whole error).
		r.mu.Lock()
		st.Reason = errorGist(r.result(name).Error)
		r.mu.Unlock()
	}
	r.record(bg, name, status, reason, res, &st)
}

// errorGist is the first line of an error, at most 200 bytes.
func errorGist(err string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(err), "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}

// transition records a stack's new status in the operation; when state is
// set the stack's own state changes too (it starts running).
func (r *run) transition(bg context.Context, name string, status vocab.StackStatus, reason string, res *protocol.Result, state bool) {
	var st *store.StackState
	if state {
		prev := r.states[name]
		s := prev
		s.DeploymentID, s.Environment, s.Stack = r.dep.ID, r.env.Name, name
		s.Status, s.Reason, s.LastOperationID = status, reason, r.op.ID
		if status == vocab.StackCancelled && !r.changedInRun(name) {
			// Cancelled before its engine changed anything: the stack is
			// as it was before this operation.
			s = r.before[name]
			s.DeploymentID, s.Environment, s.Stack = r.dep.ID, r.env.Name, name
			if s.Status == "" {
				s.Status = vocab.StackNotDeployed
			}
		}
		st = &s
	} else if status == vocab.StackSkipped {
		// A stack that never ran keeps its state, unless it has none yet:
		// then the state says why it is not there.
		if prev, ok := r.states[name]; (!ok || prev.Status == vocab.StackNotDeployed || prev.Status == "") && r.req.Kind.Deploys() {
			st = &store.StackState{DeploymentID: r.dep.ID, Environment: r.env.Name, Stack: name,
				Status: status, Reason: reason, LastOperationID: r.op.ID}
		}
	}
	r.record(bg, name, status, reason, res, st)
}

// changedInRun says whether the stack's engine changed a resource in this
// run.
func (r *run) changedInRun(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed[name]
}

// changes says whether a resource step of this op changes the resource.
func changes(op string) bool {
	switch op {
	case "", "same", "read", "refresh":
		return false
	}
	return true
}

func (r *run) result(name string) *StackResult {
	sr, ok := r.results[name]
	if !ok {
		sr = &StackResult{Stack: name}
		r.results[name] = sr
	}
	return sr
}

// record stores the transition (operation stack, optional stack state and
// the event) in one transaction and tells the observer.
func (r *run) record(bg context.Context, name string, status vocab.StackStatus, reason string, res *protocol.Result, st *store.StackState) {
	now := r.app.cfg.Now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	sr := r.result(name)
	sr.Status, sr.Reason = status, reason
	ost := store.OperationStack{OperationID: r.op.ID, Stack: name, Status: status, Reason: reason, Error: sr.Error}
	if status == vocab.StackDeployed || status == vocab.StackUnchanged {
		ost.Config = r.configs[name]
	}
	running := status == vocab.StackDeploying || status == vocab.StackDestroying || status == vocab.StackRefreshing
	if running {
		r.started[name] = now
	}
	if t, ok := r.started[name]; ok {
		t := t
		ost.StartedAt = &t
		if !running {
			ost.FinishedAt = &now
			sr.Duration = now.Sub(t)
		}
	}
	if res != nil {
		sr.Changes = res.Changes
		if res.ResourceCount > 0 || status == vocab.StackDeployed || status == vocab.StackDestroyed {
			sr.ResourceCount = res.ResourceCount
		}
		ost.Changes = res.Changes
	}
	ost.ResourceCount = sr.ResourceCount
	payload := map[string]any{"status": status}
	if reason != "" {
		payload["reason"] = reason
	}
	if sr.Error != "" && (status == vocab.StackFailed || status == vocab.StackInterrupted) {
		payload["error"] = sr.Error
	}
	if res != nil && len(res.Changes) > 0 {
		payload["changes"] = res.Changes
	}
	if st != nil {
		r.states[name] = *st
	}
	ev := r.newEvent(name, vocab.EventStack, now, payload)
	if err := r.app.db.Transition(bg, ost, st, ev); err != nil {
		r.logStoreError(err)
		return
	}
	r.notify(ev)
}

// event records an operation-level or stack-level event.
func (r *run) event(bg context.Context, stack string, kind vocab.EventType, payload any) {
	r.eventAt(bg, stack, kind, r.app.cfg.Now().UTC(), payload)
}

func (r *run) eventAt(bg context.Context, stack string, kind vocab.EventType, at time.Time, payload any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.newEvent(stack, kind, at, payload)
	if err := r.app.db.AppendEvent(bg, ev); err != nil {
		r.logStoreError(err)
		return
	}
	r.notify(ev)
}

func (r *run) newEvent(stack string, kind vocab.EventType, at time.Time, payload any) *store.Event {
	body, err := json.Marshal(payload)
	if err != nil {
		body = []byte(strconv.Quote(err.Error()))
	}
	return &store.Event{OperationID: r.op.ID, DeploymentID: r.dep.ID, Environment: r.env.Name,
		Stack: stack, Kind: kind, Time: at, Payload: body}
}

// replay hands the observer the events the store wrote on its own (the
// operation's first and last status) after seq.
func (r *run) replay(bg context.Context, after int64) {
	evs, err := r.app.db.Events(bg, r.op.ID, after, 100)
	if err != nil {
		r.logStoreError(err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range evs {
		r.notify(&evs[i])
	}
}

func (r *run) notify(ev *store.Event) {
	if r.req.Observer != nil {
		r.req.Observer(*ev)
	}
}

// logStoreError reports a failed write of an event: the run goes on (the
// stacks are real infrastructure), but the user must know the record has a
// hole.
func (r *run) logStoreError(err error) {
	fmt.Fprintf(os.Stderr, "cloud: could not record an event of operation %s: %v\n", r.op.ID, err)
}

// report builds the report in graph order.
func (r *run) report() *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{Operation: r.op, Layers: r.graph.Layers()}
	for _, n := range r.graph.Order() {
		rep.Stacks = append(rep.Stacks, *r.result(n))
	}
	return rep
}
