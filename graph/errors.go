package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudplatform/cloud/app"
	depgraph "github.com/cloudplatform/cloud/engine/graph"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/placeholder"
	"github.com/cloudplatform/cloud/store"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Stable error codes: GraphQL puts them in extensions.code, REST in the
// problem document's code. Clients may switch on them; they never change
// meaning.
const (
	CodeBadInput         = "BAD_USER_INPUT"        // 400: a malformed or contradictory request
	CodeNotFound         = "NOT_FOUND"             // 404
	CodeForbidden        = "FORBIDDEN"             // 403: the caller's role does not allow it
	CodeOperationRunning = "OPERATION_IN_PROGRESS" // 409: the environment is busy or locked
	CodeConflict         = "CONFLICT"              // 409: the state forbids it
	CodeDisabled         = "ENVIRONMENT_DISABLED"  // 409
	CodeValidation       = "VALIDATION_FAILED"     // 422: the manifest or config is invalid
	CodeUnavailable      = "UNAVAILABLE"           // 503: shutting down, or the store cannot be written
	CodeInternal         = "INTERNAL"              // 500
)

// Classify returns the stable code and HTTP status of an error of the
// application core.
func Classify(err error) (code string, status int) {
	var (
		busy      *store.BusyError
		usage     *app.UsageError
		invalid   *app.ValidationError
		manErr    *manifest.Error
		manErrs   manifest.ErrorList
		cycle     *depgraph.CycleError
		unknown   *depgraph.UnknownError
		syntax    *placeholder.SyntaxError
		gqlErr    *gqlerror.Error
		inputErr  *InputError
		unresolve *placeholder.UnresolvedError
	)
	switch {
	case errors.As(err, &inputErr), errors.As(err, &usage):
		return CodeBadInput, http.StatusBadRequest
	case errors.Is(err, app.ErrForbidden):
		return CodeForbidden, http.StatusForbidden
	case errors.Is(err, app.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return CodeNotFound, http.StatusNotFound
	case errors.As(err, &busy), errors.Is(err, store.ErrBusy):
		return CodeOperationRunning, http.StatusConflict
	case errors.Is(err, app.ErrDisabled):
		return CodeDisabled, http.StatusConflict
	case errors.Is(err, app.ErrConflict), errors.Is(err, app.ErrSyncNotConfigured):
		// Sync not configured: the home's state forbids it.
		return CodeConflict, http.StatusConflict
	case errors.As(err, &invalid), errors.As(err, &manErr), errors.As(err, &manErrs), errors.As(err, &cycle),
		errors.As(err, &unknown), errors.As(err, &syntax), errors.As(err, &unresolve):
		return CodeValidation, http.StatusUnprocessableEntity
	case errors.Is(err, app.ErrShuttingDown), store.IsUnwritable(err), errors.Is(err, app.ErrSyncUnreachable):
		// Shutting down, the store cannot be written now (the disk
		// full, the file read-only), or the team's sync table cannot be
		// reached: reads still answer.
		return CodeUnavailable, http.StatusServiceUnavailable
	case errors.As(err, &gqlErr) && gqlErr.Extensions["code"] != nil:
		code, _ := gqlErr.Extensions["code"].(string)
		return code, http.StatusBadRequest
	case errors.As(err, &gqlErr) && gqlErr.Err == nil:
		// gqlgen's own refusal of the request, with no cause of ours
		// ("introspection disabled"): the request's fault.
		return CodeBadInput, http.StatusBadRequest
	}
	return CodeInternal, http.StatusInternalServerError
}

// InputError is a bad argument of an API call: a cursor that is not one,
// a page size out of range, a missing field. Field names the argument.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

func inputErrorf(field, msg string) error { return &InputError{Field: field, Msg: msg} }

// PresentError gives every GraphQL error its stable code in
// extensions.code (and the field of a bad argument in extensions.field).
// Internal errors keep their message: cloud is operated by the team that
// reads it, and the messages name what failed.
func PresentError(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	var existing *gqlerror.Error
	if errors.As(err, &existing) && existing.Extensions["code"] != nil && errors.Unwrap(existing) == nil {
		return gerr // gqlgen's own validation and parsing errors
	}
	code, _ := Classify(err)
	if gerr.Extensions == nil {
		gerr.Extensions = map[string]any{}
	}
	gerr.Extensions["code"] = code
	var in *InputError
	if errors.As(err, &in) {
		gerr.Extensions["field"] = in.Field
	}
	gerr.Message = strings.TrimPrefix(gerr.Message, "store: ")
	return gerr
}
