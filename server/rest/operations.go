package rest

import (
	"net/http"

	"github.com/cloudplatform/cloud/document"
)

// Operations: follow one (poll it, read its events), cancel it.

func (a *api) getOperation(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	op, err := a.res.Query().Operation(r.Context(), id)
	if err != nil {
		return err
	}
	if op == nil {
		return notFoundf("operation %s: not found", id)
	}
	if err := a.docs.FillOperation(r.Context(), op); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, op)
}

// cancelOperation asks a running operation to stop. Stopping goes through
// the Pulumi engine and takes a moment, so the answer is 202 with the
// operation as it is now; poll its Location to see it end cancelled.
func (a *api) cancelOperation(w http.ResponseWriter, r *http.Request) error {
	op, err := a.res.Mutation().CancelOperation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.acceptOperation(w, r, op)
}

func (a *api) operationEvents(w http.ResponseWriter, r *http.Request) error {
	args, err := eventArgsOf(queryOf(r))
	if err != nil {
		return err
	}
	c, err := a.res.Query().Events(r.Context(), r.PathValue("id"), args.afterSeq, args.stacks, args.kinds, args.first)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, document.EventPageOf(c, args.afterSeq, false))
}
