package app

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

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
		what = append(what, d.Op+" "+d.Resource+" "+d.Name+human.Diff(d.Diffs))
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
