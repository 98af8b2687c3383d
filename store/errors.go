package store

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound is returned when a requested record does not exist or has
	// been deleted (tombstoned).
	ErrNotFound = errors.New("store: not found")

	// ErrBusy is returned when another operation on the same deployment and
	// environment is still queued or running. The error is a *BusyError
	// naming that operation.
	ErrBusy = errors.New("store: deployment environment is busy")

	// ErrSchemaTooNew is returned by Open when the database was migrated by
	// a newer cloud binary than this one.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")

	// ErrSecretKey is returned when a secret value cannot be decrypted with
	// the key file given at Open: the key is wrong or the value is corrupt.
	ErrSecretKey = errors.New("store: secret cannot be decrypted with this key")
)

// BusyError is the error BeginOperation returns when the deployment and
// environment already have an active operation. errors.Is(err, ErrBusy)
// reports true for it.
type BusyError struct {
	Holder Operation // the queued or running operation
}

// Error names the operation holding the deployment and environment.
func (e *BusyError) Error() string {
	h := e.Holder
	msg := fmt.Sprintf("store: %s/%s is busy: %s operation %s by %s on %s (pid %d) %s since %s",
		h.DeploymentID, h.Environment, h.Kind, h.ID, h.Actor, h.Host, h.PID, h.Status,
		h.StartedAt.UTC().Format(time.RFC3339))
	if reason, _ := h.Flags["reason"].(string); reason != "" {
		msg += ": " + reason
	}
	return msg
}

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// notFound wraps ErrNotFound with what was looked for.
func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNotFound)
}

// IsUnwritable reports whether err is the store failing to write rather
// than a failure of what was written: the disk or quota is full, the file or
// file system is read-only (see DB.ReadOnly), or the write itself failed.
// Reads still work then, so a caller may go on without the write.
func IsUnwritable(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EROFS) {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_IOERR_WRITE, sqlite3.SQLITE_IOERR_FSYNC, sqlite3.SQLITE_IOERR_TRUNCATE,
		sqlite3.SQLITE_IOERR_SHMOPEN, sqlite3.SQLITE_IOERR_SHMSIZE:
		return true
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
		return true
	}
	return false
}
