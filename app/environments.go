package app

import (
	"context"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/cloudplatform/cloud/vocab"
)

// SetEnvironmentRequest enables or disables an environment of a deployment,
// or only some of its stacks there.
type SetEnvironmentRequest struct {
	DeploymentID string
	Environment  string
	Enabled      bool
	// Stacks, when given, changes these stacks' flags in the environment
	// (stacks.NAME.environments.ENV.enabled) instead of the environment's.
	Stacks []string
	// Destroy destroys what is deployed there (all of it, or Stacks) before
	// disabling. Only with Enabled false.
	Destroy bool
	// Run carries the options of the destroy (parallelism, observer).
	Run RunRequest
}

// SetEnvironment changes the enabled flags in the manifest (a new revision)
// — the flag deploy checks. Disabling with Destroy first destroys what is
// deployed there; if that fails, nothing is disabled.
func (a *App) SetEnvironment(ctx context.Context, req SetEnvironmentRequest) (*Report, int, error) {
	if err := authorize(ctx, accessAdmin, "enable or disable environments of "+req.DeploymentID, nil); err != nil {
		return nil, 0, err
	}
	m, _, err := a.Manifest(ctx, req.DeploymentID)
	if err != nil {
		return nil, 0, err
	}
	if m.Environment(req.Environment) == nil {
		return nil, 0, noEnvironment(m, req.Environment)
	}
	for _, s := range req.Stacks {
		if m.Stack(s) == nil {
			return nil, 0, usagef("deployment %s has no stack %q", req.DeploymentID, s)
		}
	}
	if req.Destroy && req.Enabled {
		return nil, 0, usagef("--destroy goes with disabling, not enabling")
	}
	var report *Report
	if req.Destroy {
		run := req.Run
		run.DeploymentID, run.Environment, run.Kind, run.Stacks = req.DeploymentID, req.Environment, vocab.KindDestroy, req.Stacks
		run.Force = len(req.Stacks) > 0 // the stacks go away from this environment together
		if run.Parallel < 1 {
			run.Parallel = 4
		}
		report, err = a.Run(ctx, run)
		if err != nil {
			return report, 0, err
		}
	}
	flag := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(req.Enabled)}
	rev, err := a.editManifest(ctx, req.DeploymentID, "enable/disable "+req.Environment, func(root *yaml.Node) {
		if len(req.Stacks) == 0 {
			setPath(root, []string{"environments", req.Environment, "enabled"}, flag)
			return
		}
		for _, s := range req.Stacks {
			setPath(root, []string{"stacks", s, "environments", req.Environment, "enabled"}, flag)
			if req.Enabled && !m.Stack(s).Enabled {
				// A stack disabled everywhere is enabled here only: its own
				// flag goes on, and every other environment gets an override
				// keeping it off there, as it was.
				setPath(root, []string{"stacks", s, "enabled"}, flag)
				off := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"}
				for _, e := range m.Environments {
					if e.Name != req.Environment {
						setPath(root, []string{"stacks", s, "environments", e.Name, "enabled"}, off)
					}
				}
			}
		}
	})
	return report, rev, err
}

// EnvironmentSummary is one line of `cloud list-environments`.
type EnvironmentSummary struct {
	Name        string                 `json:"name"`
	Enabled     bool                   `json:"enabled"`
	Region      string                 `json:"region"`
	AccountID   string                 `json:"accountId"`
	Status      vocab.DeploymentStatus `json:"status"`
	Stacks      int                    `json:"stacks"`
	Deployed    int                    `json:"deployed"`
	Failed      int                    `json:"failed"`
	NotDeployed int                    `json:"notDeployed"`
}

// ListEnvironments returns a deployment's environments with how many of
// their enabled stacks are deployed, failed (or interrupted) and not
// deployed.
func (a *App) ListEnvironments(ctx context.Context, id string) ([]EnvironmentSummary, error) {
	st, err := a.Status(ctx, id, "")
	if err != nil {
		return nil, err
	}
	var out []EnvironmentSummary
	for _, e := range st.Environments {
		out = append(out, e.Summary())
	}
	return out, nil
}

// Summary counts the environment's enabled stacks that are deployed,
// failed (or interrupted) and not deployed.
func (e EnvironmentStatus) Summary() EnvironmentSummary {
	sum := EnvironmentSummary{Name: e.Name, Enabled: e.Enabled, Region: e.Region, AccountID: e.AccountID, Status: e.Status}
	for _, s := range e.Stacks {
		if !s.Enabled {
			continue
		}
		sum.Stacks++
		switch s.Status {
		case vocab.StackDeployed:
			sum.Deployed++
		case vocab.StackFailed, vocab.StackInterrupted, vocab.StackCancelled:
			sum.Failed++
		default:
			sum.NotDeployed++
		}
	}
	return sum
}
