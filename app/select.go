package app

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

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
