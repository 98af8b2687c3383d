package app

import (
	"context"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// RunRequest asks for one operation on one environment of a deployment:
// what to run, how (RunOptions), what to record of who asked, and what to
// tell the caller as it runs (RunHooks).
type RunRequest struct {
	DeploymentID string
	Environment  string
	Kind         vocab.Kind // deploy, destroy, preview, refresh or rollback
	// Stacks limits the run to these stacks (deploy-stack, destroy-stack).
	Stacks []string
	RunOptions
	// Command and Flags are recorded on the operation.
	Command string
	Flags   map[string]any
	RunHooks
}

// RunOptions are how an operation runs.
type RunOptions struct {
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
	// SkipValidation skips checking the config against the stack
	// templates before a deploy, rollback or preview.
	SkipValidation bool
	// Pinned gives stacks the resolved config to run with instead of
	// resolving their manifest config (a rollback replays what an earlier
	// operation ran).
	Pinned map[string]map[string]protocol.Value
	// RequireLock refuses to run a deploy, destroy or rollback whose team
	// lock could not be taken (sync unreachable or not configured),
	// instead of running it with a warning.
	RequireLock bool
}

// Event is a stored event of an operation, as RunHooks.Observer sees it.
type Event = store.Event

// RunHooks are what the caller of an operation is told as it runs; each
// may be nil. They are called on the operation's goroutines and must not
// block.
type RunHooks struct {
	// Observer sees every event once it is stored, in order.
	Observer func(Event)
	// Started is called once the operation is recorded, before any stack
	// runs.
	Started func(op *store.Operation, layers map[string]int)
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
	r, revision, err := a.preflight(ctx, req)
	if err != nil {
		return nil, err
	}
	return r.execute(ctx, revision)
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
