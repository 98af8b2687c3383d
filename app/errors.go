package app

import (
	"errors"
	"fmt"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/sync/teamlock"
)

// Errors callers map to exit codes and API error codes; test with
// errors.Is.
var (
	// ErrNotFound is a deployment, operation or stack that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDisabled is a deploy to a disabled environment.
	ErrDisabled = errors.New("environment disabled")
	// ErrFailed is an operation that ran and failed.
	ErrFailed = errors.New("operation failed")
	// ErrCancelled is an operation stopped by the user.
	ErrCancelled = errors.New("operation cancelled")
	// ErrConflict is a request the current state forbids: deleting a
	// deployment that still has resources, a template that is built in.
	ErrConflict = errors.New("conflict")
	// ErrTeamLockHeld is wrapped by TeamLock.Acquire's error when someone
	// else holds the team lock; the error's own message names them
	// ("locked by … since …, lease until …").
	ErrTeamLockHeld = teamlock.ErrHeld
	// ErrStoreLost is Open's error for a zero-length cloud.db beside the
	// Pulumi state of deployed stacks.
	ErrStoreLost = errors.New("the store is empty but deployed state exists")
	// ErrTeamLockRequired is the error of an operation run with
	// RequireLock whose team lock could not be taken (sync unreachable,
	// not configured or offline).
	ErrTeamLockRequired = errors.New("the team lock is required and could not be taken")
	// ErrManifestTooLarge is wrapped by the *manifest.Error of a manifest
	// over Config.MaxManifestBytes.
	ErrManifestTooLarge = errors.New("manifest too large")
)

// IsUnwritable reports whether err is the store refusing a write because
// it cannot be written (read-only, or the disk full).
func IsUnwritable(err error) bool { return store.IsUnwritable(err) }

// UsageError is a mistake in what the caller asked for: a bad flag value,
// a missing argument, a request that contradicts the deployment. The CLI
// exits with code 2 on it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}
