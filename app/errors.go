package app

import (
	"errors"
	"fmt"
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
)

// UsageError is a mistake in what the caller asked for: a bad flag value,
// a missing argument, a request that contradicts the deployment. The CLI
// exits with code 2 on it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}
