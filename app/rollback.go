package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// RollbackCandidates returns the earlier successful deploys and rollbacks of
// an environment, newest first: what `rollback --to` accepts.
func (a *App) RollbackCandidates(ctx context.Context, id, env string) ([]store.Operation, error) {
	ops, err := a.History(ctx, id, env, 0)
	if err != nil {
		return nil, err
	}
	var out []store.Operation
	for _, op := range ops {
		if op.Kind.Deploys() && op.Status == vocab.OpSucceeded && op.Environment == env {
			out = append(out, op)
		}
	}
	return out, nil
}

// RollbackRequest redeploys what an earlier operation deployed.
type RollbackRequest struct {
	DeploymentID string
	Environment  string
	// To is the earlier successful deploy or rollback to return to.
	To string
	// Confirm is asked before destroying the stacks deployed now that did
	// not exist (or were disabled) at To; without it, or when it says no,
	// such a rollback is refused.
	Confirm func(stacks []string) bool
	// Run carries the options of the operations (parallelism, observer…).
	Run RunRequest
}

// Rollback returns an environment to an earlier operation: the manifest
// revision that operation ran becomes the current one again (a new
// revision with its content), stacks deployed now but absent from it are
// destroyed, and the deployment runs as an operation of kind rollback with
// the resolved config each stack ran with in that operation — placeholders
// are not resolved again, so ${var.…} and ${calc.…} keep their values then.
// (Operations recorded before cloud kept resolved configs are replayed by
// resolving the revision's config again.) Stacks whose config is the same as
// now are unchanged (smart skip).
func (a *App) Rollback(ctx context.Context, req RollbackRequest) (*Report, error) {
	if err := a.authorizeEnv(ctx, accessOperate, "roll back", req.DeploymentID, req.Environment); err != nil {
		return nil, err
	}
	target, _, err := a.Operation(ctx, req.To)
	if err != nil {
		return nil, err
	}
	if target.DeploymentID != req.DeploymentID || target.Environment != req.Environment {
		return nil, usagef("operation %s is a %s of %s in %s, not of %s in %s", target.ID, target.Kind,
			target.DeploymentID, target.Environment, req.DeploymentID, req.Environment)
	}
	if !target.Kind.Deploys() || target.Status != vocab.OpSucceeded {
		return nil, usagef("operation %s is a %s that %s; roll back to a successful deploy (see `cloud rollback %s --list -e %s`)",
			target.ID, target.Kind, target.Status, req.DeploymentID, req.Environment)
	}
	old, rev, err := a.manifestAt(ctx, req.DeploymentID, target.Revision)
	if err != nil {
		return nil, err
	}
	oldPlan, err := plan.Build(old, req.Environment)
	if err != nil {
		return nil, fmt.Errorf("revision %d: %w", rev.Revision, err)
	}
	states, err := a.stateMap(ctx, req.DeploymentID, req.Environment)
	if err != nil {
		return nil, err
	}
	var extra []string
	for name, st := range states {
		if deployed(st) && !oldPlan.Graph.Has(name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 && (req.Confirm == nil || !req.Confirm(extra)) {
		return nil, usagef("rolling back to %s would destroy %s (not in revision %d); confirm to go on",
			target.ID, strings.Join(extra, ", "), rev.Revision)
	}
	if len(extra) > 0 {
		run := req.Run
		run.DeploymentID, run.Environment, run.Kind, run.Stacks, run.Force = req.DeploymentID, req.Environment, vocab.KindDestroy, extra, true
		run.Resume, run.WithDependencies = false, false
		if rep, err := a.Run(ctx, run); err != nil {
			return rep, fmt.Errorf("destroy stacks absent from revision %d: %w", rev.Revision, err)
		}
	}
	if _, _, err := a.ApplyManifest(ctx, req.DeploymentID, fmt.Sprintf("rollback to %s (revision %d)", target.ID, rev.Revision), []byte(rev.YAML)); err != nil {
		return nil, err
	}
	pinned, err := a.recordedConfigs(ctx, target.ID)
	if err != nil {
		return nil, err
	}
	run := req.Run
	run.DeploymentID, run.Environment, run.Kind = req.DeploymentID, req.Environment, vocab.KindRollback
	run.Pinned = pinned
	run.Stacks, run.Resume, run.WithDependencies = nil, false, false
	if run.Flags == nil {
		run.Flags = map[string]any{}
	}
	run.Flags["to"] = target.ID
	return a.Run(ctx, run)
}

// recordedConfigs returns the resolved config each stack ran with in an
// operation, for the stacks it recorded one for.
func (a *App) recordedConfigs(ctx context.Context, opID string) (map[string]map[string]protocol.Value, error) {
	stacks, err := a.db.OperationStacks(ctx, opID)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]protocol.Value{}
	for _, s := range stacks {
		if s.ConfigSealed {
			return nil, usagef("the config %s ran with in %s is sealed with another machine's key: roll back on the machine that ran it", s.Stack, opID)
		}
		if len(s.Config) == 0 {
			continue
		}
		var cfg map[string]protocol.Value
		if err := json.Unmarshal(s.Config, &cfg); err != nil {
			return nil, fmt.Errorf("recorded config of %s in %s: %w", s.Stack, opID, err)
		}
		out[s.Stack] = cfg
	}
	return out, nil
}
