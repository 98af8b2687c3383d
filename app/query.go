package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"syscall"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// DeploymentStatus is a deployment with the state of its environments.
type DeploymentStatus struct {
	Deployment   store.Deployment
	Revision     int
	Environments []EnvironmentStatus
}

// EnvironmentStatus is the state of one environment and its stacks.
type EnvironmentStatus struct {
	Name          string
	Enabled       bool
	Region        string
	AccountID     string
	Status        vocab.DeploymentStatus
	Stacks        []StackStatus
	LastOperation *store.Operation
}

// StackStatus is one stack's state in one environment.
type StackStatus struct {
	Name          string
	Layer         int
	Enabled       bool
	Dependencies  []string
	Status        vocab.StackStatus
	Reason        string
	ResourceCount int
	LastOperation string
}

// Status returns a deployment's state in env, or in every environment when
// env is empty.
func (a *App) Status(ctx context.Context, id, env string) (*DeploymentStatus, error) {
	d, err := a.db.Deployment(ctx, id)
	if err != nil {
		return nil, a.notFound(err, id)
	}
	m, rev, err := a.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	if env != "" && m.Environment(env) == nil {
		return nil, noEnvironment(m, env)
	}
	all, err := a.db.StackStates(ctx, id, env)
	if err != nil {
		return nil, err
	}
	byEnv := map[string]map[string]store.StackState{}
	for _, s := range all {
		if byEnv[s.Environment] == nil {
			byEnv[s.Environment] = map[string]store.StackState{}
		}
		byEnv[s.Environment][s.Stack] = s
	}
	st := &DeploymentStatus{Deployment: *d, Revision: rev.Revision}
	for _, e := range m.Environments {
		if env != "" && e.Name != env {
			continue
		}
		es := EnvironmentStatus{Name: e.Name, Enabled: e.Enabled, Region: e.Region, AccountID: e.AccountID}
		var layers map[string]int
		deps := map[string][]string{}
		if p, err := plan.Build(m, e.Name); err == nil {
			layers = p.Layers
			for _, n := range p.Graph.Nodes() {
				deps[n] = p.Graph.Dependencies(n)
			}
		}
		for _, s := range m.Stacks {
			ss := byEnv[e.Name][s.Name]
			status := ss.Status
			if status == "" {
				status = vocab.StackNotDeployed
			}
			es.Stacks = append(es.Stacks, StackStatus{Name: s.Name, Layer: layers[s.Name], Enabled: s.EnabledIn(e.Name),
				Dependencies: deps[s.Name], Status: status, Reason: ss.Reason, ResourceCount: ss.ResourceCount,
				LastOperation: ss.LastOperationID})
		}
		sort.SliceStable(es.Stacks, func(i, j int) bool {
			if es.Stacks[i].Layer != es.Stacks[j].Layer {
				return es.Stacks[i].Layer < es.Stacks[j].Layer
			}
			return es.Stacks[i].Name < es.Stacks[j].Name
		})
		if op, err := a.db.LastOperation(ctx, id, e.Name); err == nil {
			es.LastOperation = op
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		es.Status = environmentStatus(es.Stacks, es.LastOperation)
		st.Environments = append(st.Environments, es)
	}
	return st, nil
}

// environmentStatus derives an environment's status from its enabled
// stacks and its last operation.
func environmentStatus(stacks []StackStatus, last *store.Operation) vocab.DeploymentStatus {
	if last != nil && last.Status == vocab.OpRunning {
		if last.Kind == vocab.KindDestroy {
			return vocab.DeploymentDestroying
		}
		if last.Kind.Deploys() {
			return vocab.DeploymentDeploying
		}
	}
	var total, up, down, bad, destroyed int
	for _, s := range stacks {
		if !s.Enabled {
			continue
		}
		total++
		switch s.Status {
		case vocab.StackDeployed:
			up++
		case vocab.StackFailed, vocab.StackInterrupted, vocab.StackCancelled:
			bad++
		case vocab.StackDestroyed:
			destroyed++
			down++
		default:
			down++
		}
	}
	switch {
	case total == 0 || (up == 0 && bad == 0 && destroyed == 0):
		return vocab.DeploymentInitialized
	case up == total:
		return vocab.DeploymentDeployed
	case bad > 0 && up == 0:
		return vocab.DeploymentFailed
	case up > 0:
		return vocab.DeploymentPartial
	case bad > 0:
		return vocab.DeploymentFailed
	default:
		return vocab.DeploymentDestroyed
	}
}

// DeploymentSummary is one line of `cloud list`.
type DeploymentSummary struct {
	Deployment   store.Deployment
	Status       vocab.DeploymentStatus
	Environments map[string]vocab.DeploymentStatus
}

// List returns the deployments with their status per environment. A
// deployment whose every environment is destroyed is left out unless all
// is set.
func (a *App) List(ctx context.Context, all bool) ([]DeploymentSummary, error) {
	ds, err := a.db.Deployments(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeploymentSummary
	for _, d := range ds {
		st, err := a.Status(ctx, d.ID, "")
		if err != nil {
			return nil, err
		}
		sum := DeploymentSummary{Deployment: d, Environments: map[string]vocab.DeploymentStatus{}}
		counts := map[vocab.DeploymentStatus]int{}
		for _, e := range st.Environments {
			sum.Environments[e.Name] = e.Status
			counts[e.Status]++
		}
		sum.Status = OverallStatus(counts)
		// Hidden only when every environment is destroyed: one destroyed
		// environment beside others not deployed yet is still a deployment
		// someone works on.
		if sum.Status == vocab.DeploymentDestroyed && counts[vocab.DeploymentDestroyed] == len(st.Environments) && !all {
			continue
		}
		out = append(out, sum)
	}
	return out, nil
}

// OverallStatus summarises environment statuses: the most urgent wins.
func OverallStatus(counts map[vocab.DeploymentStatus]int) vocab.DeploymentStatus {
	for _, s := range []vocab.DeploymentStatus{vocab.DeploymentDeploying, vocab.DeploymentDestroying, vocab.DeploymentFailed, vocab.DeploymentPartial, vocab.DeploymentDeployed} {
		if counts[s] > 0 {
			return s
		}
	}
	if counts[vocab.DeploymentDestroyed] > 0 {
		return vocab.DeploymentDestroyed
	}
	return vocab.DeploymentInitialized
}

// Outputs returns the outputs of one stack (or all when stack is empty) in
// env. Secret values are replaced by nil unless showSecrets is set.
func (a *App) Outputs(ctx context.Context, id, env, stack string, showSecrets bool) (map[string]map[string]store.Output, error) {
	if showSecrets {
		if err := authorize(ctx, accessSecrets, "read the secret outputs of "+id, nil); err != nil {
			return nil, err
		}
	}
	if _, err := a.db.Deployment(ctx, id); err != nil {
		return nil, a.notFound(err, id)
	}
	all, err := a.db.AllOutputs(ctx, id, env)
	if err != nil {
		return nil, err
	}
	if stack != "" {
		m, _, err := a.Manifest(ctx, id)
		if err != nil {
			return nil, err
		}
		if m.Stack(stack) == nil {
			return nil, usagef("deployment %s has no stack %q", id, stack)
		}
		all = map[string]map[string]store.Output{stack: all[stack]}
	}
	if !showSecrets {
		for _, outs := range all {
			for k, v := range outs {
				if v.Secret {
					v.Value = nil
					outs[k] = v
				}
			}
		}
	}
	return all, nil
}

// History returns a deployment's operations, newest first.
func (a *App) History(ctx context.Context, id, env string, limit int) ([]store.Operation, error) {
	if limit < 0 {
		return nil, usagef("the number of operations must be 0 (all) or more, got %d", limit)
	}
	if env != "" {
		// An environment the deployment has not is a typo, not an empty
		// history.
		m, _, err := a.Manifest(ctx, id)
		if err != nil {
			return nil, err
		}
		if m.Environment(env) == nil {
			return nil, noEnvironment(m, env)
		}
	} else if _, err := a.db.Deployment(ctx, id); err != nil {
		return nil, a.notFound(err, id)
	}
	return a.db.Operations(ctx, id, env, limit)
}

// CheckStack says whether the deployment's manifest has the stack, with a
// did-you-mean when it has not.
func (a *App) CheckStack(ctx context.Context, id, stack string) error {
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return err
	}
	if m.Stack(stack) != nil {
		return nil
	}
	var names []string
	for _, s := range m.Stacks {
		names = append(names, s.Name)
	}
	msg := fmt.Sprintf("deployment %s has no stack %q", id, stack)
	if hint := manifest.Suggest(stack, names); hint != "" {
		msg += " (" + hint + ")"
	}
	return usagef("%s", msg)
}

// Operation returns an operation with its stacks.
func (a *App) Operation(ctx context.Context, opID string) (*store.Operation, []store.OperationStack, error) {
	if err := CheckOperationID(opID); err != nil {
		return nil, nil, err
	}
	op, err := a.db.Operation(ctx, opID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("operation %s: %w", opID, ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	stacks, err := a.db.OperationStacks(ctx, opID)
	return op, stacks, err
}

// LatestOperation returns the newest operation of a deployment (in env when
// given).
func (a *App) LatestOperation(ctx context.Context, id, env string) (*store.Operation, error) {
	op, err := a.db.LastOperation(ctx, id, env)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("deployment %s has no operation yet: %w", id, ErrNotFound)
	}
	return op, err
}

// Events returns an operation's events after a sequence number.
func (a *App) Events(ctx context.Context, opID string, afterSeq int64, limit int) ([]store.Event, error) {
	if err := CheckOperationID(opID); err != nil {
		return nil, err
	}
	return a.db.Events(ctx, opID, afterSeq, limit)
}

// Plan returns the dependency plan of a deployment in env.
func (a *App) Plan(ctx context.Context, id, env string) (*plan.Plan, error) {
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	if env == "" && len(m.Environments) > 0 {
		env = m.Environments[0].Name
	}
	return plan.Build(m, env)
}

// Cancel asks the process running an operation to cancel it. The owner
// cancels its stacks through the Pulumi engine and records the outcome.
func (a *App) Cancel(ctx context.Context, opID string) (*store.Operation, error) {
	op, _, err := a.Operation(ctx, opID)
	if err != nil {
		return nil, err
	}
	if err := a.authorizeEnv(ctx, accessOperate, "cancel "+string(op.Kind)+" "+op.ID+" in", op.DeploymentID, op.Environment); err != nil {
		return nil, err
	}
	if op.Status != vocab.OpRunning && op.Status != vocab.OpQueued {
		return op, fmt.Errorf("%w: operation %s is already %s", ErrConflict, op.ID, op.Status)
	}
	if a.bg.cancel(op.ID) {
		return op, nil
	}
	pid, start, host := store.ProcessIdentity()
	_ = start
	if op.Host != host {
		return op, fmt.Errorf("operation %s runs on host %s; cancel it there", op.ID, op.Host)
	}
	if op.PID == pid {
		return op, usagef("operation %s belongs to this process", op.ID)
	}
	proc, err := os.FindProcess(op.PID)
	if err == nil {
		err = proc.Signal(syscall.SIGINT)
	}
	if err != nil {
		return op, fmt.Errorf("signal process %d of operation %s: %w", op.PID, op.ID, err)
	}
	return op, nil
}
