// Package vocab is the one vocabulary of operations: their kinds, the
// statuses of operations, stacks and deployment environments, and the
// types of the events an operation records.
//
// These words are stored in SQLite, sent over REST and GraphQL, and read
// back by the monitor and the CLI. They used to be untyped string
// constants repeated in the store, the application core, the monitor, the
// GraphQL model and the commands; a typo or a new status had to be found
// in all of them. Here each family is a named string type, so the compiler
// tells one family from another and from free text, while the bytes stored
// and sent stay the plain strings they always were (database/sql and
// encoding/json treat a named string type as a string).
//
// The package imports nothing from the module, so that every layer — the
// store at the bottom, the commands at the top — may use it. The GraphQL
// enums OperationKind, OperationStatus, StackStatus and EnvironmentStatus
// are bound to these types in gqlgen.yml (MarshalGQL and UnmarshalGQL
// below).
package vocab

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Kind is what an operation does (the GraphQL enum OperationKind).
type Kind string

// Operation kinds.
const (
	// KindDeploy brings stacks to the manifest.
	KindDeploy Kind = "deploy"
	// KindRollback is a deploy of an earlier manifest revision.
	KindRollback Kind = "rollback"
	// KindRefresh compares every stack's state with its real resources.
	KindRefresh Kind = "refresh"
	// KindDestroy deletes stacks' resources.
	KindDestroy Kind = "destroy"
	// KindPreview shows what a deploy would change, changing nothing.
	KindPreview Kind = "preview"
	// KindLock is a manual lock: an operation that runs until unlock, held
	// by a person rather than a process (a change freeze, maintenance).
	KindLock Kind = "lock"
	// KindUnlock is the operation that records a broken team lock
	// (`unlock --force`): it holds nothing and is finished when it is
	// recorded.
	KindUnlock Kind = "unlock"
)

// Kinds lists every operation kind, in the order of the GraphQL enum
// (which lacks unlock).
var Kinds = []Kind{KindDeploy, KindDestroy, KindPreview, KindRefresh, KindRollback, KindLock, KindUnlock}

// Deploys reports whether an operation of this kind changes infrastructure
// towards a manifest (deploy and rollback do; preview and destroy do not).
func (k Kind) Deploys() bool { return k == KindDeploy || k == KindRollback }

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return member(k, Kinds) }

// MarshalGQL writes k as a GraphQL enum value.
func (k Kind) MarshalGQL(w io.Writer) { marshalGQL(w, k) }

// UnmarshalGQL reads a GraphQL enum value into k.
func (k *Kind) UnmarshalGQL(v any) error { return unmarshalGQL(v, k, Kinds, "OperationKind") }

// OperationStatus is where an operation is in its life (the GraphQL enum
// OperationStatus).
type OperationStatus string

// Operation statuses.
const (
	// OpQueued: recorded, waiting for its environment.
	OpQueued OperationStatus = "queued"
	// OpRunning: its runner is working (or, for a lock, it is held).
	OpRunning OperationStatus = "running"
	// OpSucceeded: finished, every stack it ran ended well.
	OpSucceeded OperationStatus = "succeeded"
	// OpFailed: finished with a failed stack or an error.
	OpFailed OperationStatus = "failed"
	// OpCancelled: stopped on request.
	OpCancelled OperationStatus = "cancelled"
	// OpInterrupted: its process died (or the host rebooted) before it
	// finished; the reaper records this.
	OpInterrupted OperationStatus = "interrupted"
)

// OperationStatuses lists every operation status.
var OperationStatuses = []OperationStatus{OpQueued, OpRunning, OpSucceeded, OpFailed, OpCancelled, OpInterrupted}

// Terminal reports whether the status ends an operation: succeeded,
// failed, cancelled or interrupted.
func (s OperationStatus) Terminal() bool {
	return s == OpSucceeded || s == OpFailed || s == OpCancelled || s == OpInterrupted
}

// Active reports whether an operation with this status holds its
// environment: queued or running.
func (s OperationStatus) Active() bool { return s == OpQueued || s == OpRunning }

// Valid reports whether s is one of OperationStatuses.
func (s OperationStatus) Valid() bool { return member(s, OperationStatuses) }

// MarshalGQL writes s as a GraphQL enum value.
func (s OperationStatus) MarshalGQL(w io.Writer) { marshalGQL(w, s) }

// UnmarshalGQL reads a GraphQL enum value into s.
func (s *OperationStatus) UnmarshalGQL(v any) error {
	return unmarshalGQL(v, s, OperationStatuses, "OperationStatus")
}

// StackStatus is the state of one stack, in its environment's stack states
// and in an operation's stacks (the GraphQL enum StackStatus).
type StackStatus string

// Stack statuses.
const (
	// StackNotDeployed: the stack has no resources yet (or no more).
	StackNotDeployed StackStatus = "not_deployed"
	// StackPending: the operation will run the stack, it has not started.
	StackPending StackStatus = "pending"
	// StackDeploying: a deploy (or rollback) runs it.
	StackDeploying StackStatus = "deploying"
	// StackDeployed: its last deploy succeeded.
	StackDeployed StackStatus = "deployed"
	// StackFailed: its last run failed.
	StackFailed StackStatus = "failed"
	// StackSkipped: the operation did not run it (smart skip, or a
	// dependency failed).
	StackSkipped StackStatus = "skipped"
	// StackDestroying: a destroy runs it.
	StackDestroying StackStatus = "destroying"
	// StackDestroyed: its resources are gone.
	StackDestroyed StackStatus = "destroyed"
	// StackInterrupted: its run was cut short by the death of the process.
	StackInterrupted StackStatus = "interrupted"
	// StackUnchanged appears on operation stacks only: the stack's own
	// state does not change.
	StackUnchanged StackStatus = "unchanged"
	// StackPreviewed appears on operation stacks only: a preview ran it.
	StackPreviewed StackStatus = "previewed"
	// StackCancelled: the operation was cancelled before or while it ran.
	StackCancelled StackStatus = "cancelled"
	// StackRefreshing: a refresh is looking at it; it then ends drifted or
	// in_sync.
	StackRefreshing StackStatus = "refreshing"
	// StackDrifted: a refresh found its real resources differ from its
	// state.
	StackDrifted StackStatus = "drifted"
	// StackInSync: a refresh found nothing changed.
	StackInSync StackStatus = "in_sync"
)

// StackStatuses lists every stack status.
var StackStatuses = []StackStatus{StackNotDeployed, StackPending, StackDeploying, StackDeployed, StackFailed,
	StackSkipped, StackDestroying, StackDestroyed, StackInterrupted, StackUnchanged, StackPreviewed,
	StackCancelled, StackRefreshing, StackDrifted, StackInSync}

// StackResults are the statuses a stack ends an operation with, in the
// order summaries list them.
var StackResults = []StackStatus{StackDeployed, StackUnchanged, StackPreviewed, StackDestroyed, StackInSync,
	StackDrifted, StackFailed, StackSkipped, StackCancelled, StackInterrupted}

// Running reports whether the stack is being worked on: deploying,
// destroying or refreshing.
func (s StackStatus) Running() bool {
	return s == StackDeploying || s == StackDestroying || s == StackRefreshing
}

// Finished reports whether the status is final within an operation:
// neither unknown (""), pending nor running.
func (s StackStatus) Finished() bool { return s != "" && s != StackPending && !s.Running() }

// Bad reports whether a final status is a failure: failed, interrupted,
// cancelled or drifted.
func (s StackStatus) Bad() bool {
	return s == StackFailed || s == StackInterrupted || s == StackCancelled || s == StackDrifted
}

// Valid reports whether s is one of StackStatuses.
func (s StackStatus) Valid() bool { return member(s, StackStatuses) }

// MarshalGQL writes s as a GraphQL enum value.
func (s StackStatus) MarshalGQL(w io.Writer) { marshalGQL(w, s) }

// UnmarshalGQL reads a GraphQL enum value into s.
func (s *StackStatus) UnmarshalGQL(v any) error {
	return unmarshalGQL(v, s, StackStatuses, "StackStatus")
}

// DeploymentStatus is the state of a deployment's environment (or of the
// deployment, combining its enabled environments), computed from its stack
// states (the GraphQL enum EnvironmentStatus).
type DeploymentStatus string

// Deployment statuses.
const (
	// DeploymentInitialized: no stack deployed yet.
	DeploymentInitialized DeploymentStatus = "initialized"
	// DeploymentDeploying: an operation is deploying it.
	DeploymentDeploying DeploymentStatus = "deploying"
	// DeploymentDeployed: every enabled stack is deployed.
	DeploymentDeployed DeploymentStatus = "deployed"
	// DeploymentPartial: some stacks are deployed, others not.
	DeploymentPartial DeploymentStatus = "partial"
	// DeploymentFailed: a stack failed.
	DeploymentFailed DeploymentStatus = "failed"
	// DeploymentDestroying: an operation is destroying it.
	DeploymentDestroying DeploymentStatus = "destroying"
	// DeploymentDestroyed: every stack is destroyed.
	DeploymentDestroyed DeploymentStatus = "destroyed"
)

// DeploymentStatuses lists every deployment status.
var DeploymentStatuses = []DeploymentStatus{DeploymentInitialized, DeploymentDeploying, DeploymentDeployed,
	DeploymentPartial, DeploymentFailed, DeploymentDestroying, DeploymentDestroyed}

// Valid reports whether s is one of DeploymentStatuses.
func (s DeploymentStatus) Valid() bool { return member(s, DeploymentStatuses) }

// MarshalGQL writes s as a GraphQL enum value.
func (s DeploymentStatus) MarshalGQL(w io.Writer) { marshalGQL(w, s) }

// UnmarshalGQL reads a GraphQL enum value into s.
func (s *DeploymentStatus) UnmarshalGQL(v any) error {
	return unmarshalGQL(v, s, DeploymentStatuses, "EnvironmentStatus")
}

// EventType is the kind of an event in an operation's log (see
// docs/api-graphql.md); GraphQL and REST carry it as a plain string.
type EventType string

// Event types.
const (
	// EventOperation records a change of the operation's status.
	EventOperation EventType = "operation.status"
	// EventPlan follows the operation's start: the stacks it will run and
	// their layers, for monitors to draw the graph.
	EventPlan EventType = "operation.plan"
	// EventStack records a change of one stack's status.
	EventStack EventType = "stack.status"
	// EventEngine is a Pulumi engine event of one stack (resource
	// operations, diagnostics, summaries).
	EventEngine EventType = "engine"
	// EventLog is a line a stack's program or the runner logged.
	EventLog EventType = "log"
	// EventTeamLock records what the team lock did for an operation: taken
	// (with its fencing token), not taken (sync unreachable), or lost.
	EventTeamLock EventType = "team.lock"
)

// EventTypes lists every event type.
var EventTypes = []EventType{EventOperation, EventPlan, EventStack, EventEngine, EventLog, EventTeamLock}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool { return member(t, EventTypes) }

func member[T comparable](v T, all []T) bool { return slices.Contains(all, v) }

func marshalGQL[T ~string](w io.Writer, v T) {
	_, _ = io.WriteString(w, strconv.Quote(string(v)))
}

func unmarshalGQL[T ~string](v any, dst *T, all []T, enum string) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("enums must be strings")
	}
	if !member(T(s), all) {
		return fmt.Errorf("%s is not a valid %s", s, enum)
	}
	*dst = T(s)
	return nil
}
