package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/store"
)

// Codes of errors the HTTP layer finds before any resolver runs. The
// application's codes are graph's (graph.CodeNotFound, …); these complete
// them for what only HTTP has. Like those, they never change meaning.
const (
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"     // 405: the path exists, the method does not
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"      // 413: the body exceeds MaxBodyBytes
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE" // 415: a body in a format the route does not read
	// The server's authentication and limits answer these before REST
	// sees the request (package server).
	CodeUnauthenticated   = "UNAUTHENTICATED"     // 401: no valid token (cloud serve --auth cognito)
	CodeRateLimited       = "RATE_LIMITED"        // 429: the client's request rate is over its limit
	CodeTooManyWebSockets = "TOO_MANY_WEBSOCKETS" // 429: the client has too many WebSocket connections open
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is the body of every error response: an RFC 9457 problem
// document with the stable code clients switch on, and extension members
// naming what was wrong.
type Problem struct {
	// Type identifies the kind of problem: "urn:cloud:problem:" and the
	// code in lower case with dashes.
	Type  string `json:"type"`
	Title string `json:"title"`
	// Status repeats the HTTP status code.
	Status int `json:"status"`
	// Detail says what went wrong in this occurrence, naming the field,
	// file and line where there is one.
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Field names the request parameter or body field that was wrong.
	Field string `json:"field,omitempty"`
	// Instance is the path of the request.
	Instance string `json:"instance"`
	// OperationID is the operation holding the environment
	// (OPERATION_IN_PROGRESS).
	OperationID string `json:"operationId,omitempty"`
	// Errors lists each error of an invalid manifest or configuration
	// (VALIDATION_FAILED).
	Errors []ProblemDetail `json:"errors,omitempty"`
}

// ProblemDetail is one error of an invalid manifest, template or config.
type ProblemDetail struct {
	Message     string `json:"message"`
	Field       string `json:"field,omitempty"`
	Line        int    `json:"line,omitempty"`
	Column      int    `json:"column,omitempty"`
	Hint        string `json:"hint,omitempty"`
	Environment string `json:"environment,omitempty"`
	Stack       string `json:"stack,omitempty"`
}

// titles are the fixed summaries of the codes (RFC 9457: a title does not
// change from occurrence to occurrence; the detail does).
var titles = map[string]string{
	graph.CodeBadInput:         "Bad request",
	graph.CodeNotFound:         "Not found",
	graph.CodeForbidden:        "Forbidden",
	graph.CodeOperationRunning: "An operation is in progress",
	graph.CodeConflict:         "Conflict with the current state",
	graph.CodeDisabled:         "Environment disabled",
	graph.CodeValidation:       "Validation failed",
	graph.CodeUnavailable:      "Service unavailable",
	graph.CodeInternal:         "Internal error",
	CodeMethodNotAllowed:       "Method not allowed",
	CodePayloadTooLarge:        "Request body too large",
	CodeUnsupportedMediaType:   "Unsupported media type",
	CodeUnauthenticated:        "Unauthenticated",
	CodeRateLimited:            "Too many requests",
	CodeTooManyWebSockets:      "Too many WebSocket connections",
}

// problemError is an error found by the HTTP layer itself, with its status
// and code (errors of the application are classified by graph.Classify).
type problemError struct {
	status int
	code   string
	field  string
	detail string
}

func (e *problemError) Error() string { return e.detail }

// notFoundf is a 404 for a resource a resolver returned null for.
func notFoundf(format string, args ...any) error {
	return &problemError{status: http.StatusNotFound, code: graph.CodeNotFound, detail: fmt.Sprintf(format, args...)}
}

// inputErrorf is a 400 naming a parameter or body field.
func inputErrorf(field, format string, args ...any) error {
	return &graph.InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// problemOf builds the problem document of an error.
func problemOf(err error) Problem {
	p := Problem{Detail: strings.ReplaceAll(err.Error(), "store: ", "")}
	var pe *problemError
	if errors.As(err, &pe) {
		p.Status, p.Code, p.Field = pe.status, pe.code, pe.field
	} else {
		p.Code, p.Status = graph.Classify(err)
	}
	var in *graph.InputError
	if errors.As(err, &in) {
		// The resolvers name fields of their GraphQL input ("input.parallel");
		// a REST body is that input.
		p.Field = strings.TrimPrefix(in.Field, "input.")
		if p.Field != in.Field && err.Error() == in.Error() {
			p.Detail = p.Field + ": " + in.Msg
		}
	}
	var busy *store.BusyError
	if errors.As(err, &busy) {
		p.OperationID = busy.Holder.ID
	}
	p.Errors, p.Field = validationDetails(err, p.Field)
	p.Title = titles[p.Code]
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	p.Type = "urn:cloud:problem:" + strings.ToLower(strings.ReplaceAll(p.Code, "_", "-"))
	return p
}

// validationDetails lists the errors of an invalid manifest or deployment
// one by one, with their field and line, so a client can point at them;
// field is the problem's field, set from a single error that has one.
func validationDetails(err error, field string) ([]ProblemDetail, string) {
	var out []ProblemDetail
	var list manifest.ErrorList
	var one *manifest.Error
	var invalid *app.ValidationError
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			out = append(out, manifestDetail(e))
		}
	case errors.As(err, &one):
		out = append(out, manifestDetail(one))
	case errors.As(err, &invalid) && invalid.Validation != nil:
		for _, f := range invalid.Validation.Findings {
			if f.Severity == app.SeverityError {
				out = append(out, ProblemDetail{Message: f.Message, Field: f.Field, Environment: f.Environment, Stack: f.Stack})
			}
		}
	}
	if field == "" && len(out) == 1 {
		field = out[0].Field
	}
	return out, field
}

func manifestDetail(e *manifest.Error) ProblemDetail {
	return ProblemDetail{Message: e.Msg, Field: e.Field, Line: e.Line, Column: e.Column, Hint: e.Hint}
}

// problem writes err as a problem document. Server errors are logged: the
// client sees the message, the operator needs to know it happened.
func (a *api) problem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	// Escaped: a path with control characters is never echoed raw.
	p.Instance = Prefix + r.URL.EscapedPath()
	if p.Status >= 500 && r.Context().Err() == nil {
		a.log.Error("REST request failed", "method", r.Method, "path", p.Instance, "status", p.Status, "error", err)
	}
	b, merr := json.Marshal(p)
	if merr != nil { // cannot happen: Problem holds strings and ints
		http.Error(w, p.Detail, p.Status)
		return
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}
