package rest

import (
	"net/http"

	"github.com/cloudplatform/cloud/document"

	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/vocab"
)

// Environments of a deployment, and the operations started on them.

func (a *api) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	page, err := a.docs.Environments(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (a *api) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	e, err := a.docs.Environment(r.Context(), r.PathValue("id"), r.PathValue("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// enableBody limits enable to some stacks of the environment.
type enableBody struct {
	Stacks []string `json:"stacks,omitempty"`
}

// disableBody limits disable to some stacks, and may destroy them first.
type disableBody struct {
	Stacks  []string `json:"stacks,omitempty"`
	Destroy *bool    `json:"destroy,omitempty"`
}

func (a *api) enableEnvironment(w http.ResponseWriter, r *http.Request) error {
	var in enableBody
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	id, name := r.PathValue("id"), r.PathValue("env")
	if _, err := a.docs.Environment(r.Context(), id, name); err != nil {
		return err
	}
	ch, err := a.res.Mutation().EnableEnvironment(r.Context(), id, name, in.Stacks)
	if err != nil {
		return err
	}
	if err := a.docs.FillEnvironment(r.Context(), ch.Environment); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ch)
}

// disableEnvironment disables at once, or with destroy starts the destroy
// and answers 202 with it: the environment is disabled when it succeeds.
func (a *api) disableEnvironment(w http.ResponseWriter, r *http.Request) error {
	var in disableBody
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	id, name := r.PathValue("id"), r.PathValue("env")
	if _, err := a.docs.Environment(r.Context(), id, name); err != nil {
		return err
	}
	ch, err := a.res.Mutation().DisableEnvironment(r.Context(), id, name, in.Stacks, in.Destroy)
	if err != nil {
		return err
	}
	if err := a.docs.FillEnvironment(r.Context(), ch.Environment); err != nil {
		return err
	}
	if ch.Operation != nil {
		if err := a.docs.FillOperation(r.Context(), ch.Operation); err != nil {
			return err
		}
		return accepted(w, ch.Operation, ch)
	}
	return writeJSON(w, http.StatusOK, ch)
}

func (a *api) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := a.docs.Plan(r.Context(), r.PathValue("id"), r.PathValue("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// environmentOutputs lists the outputs of every stack (or one) in an
// environment; secret values only with showSecrets=true.
func (a *api) environmentOutputs(w http.ResponseWriter, r *http.Request) error {
	q := queryOf(r)
	stackName, err := q.str("stack")
	if err != nil {
		return err
	}
	return a.outputs(w, r, stackName)
}

func (a *api) stackOutputs(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("stack")
	return a.outputs(w, r, &name)
}

func (a *api) outputs(w http.ResponseWriter, r *http.Request, stackName *string) error {
	show, err := queryOf(r).boolean("showSecrets")
	if err != nil {
		return err
	}
	id, name := r.PathValue("id"), r.PathValue("env")
	e, err := a.docs.Environment(r.Context(), id, name)
	if err != nil {
		return err
	}
	if stackName != nil {
		if _, err := document.Stack(e, *stackName); err != nil {
			return err
		}
	}
	outs, err := a.res.Query().Outputs(r.Context(), id, name, stackName, show)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, document.ListOf(outs))
}

func (a *api) listStackStates(w http.ResponseWriter, r *http.Request) error {
	e, err := a.docs.Environment(r.Context(), r.PathValue("id"), r.PathValue("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, document.ListOf(e.Stacks))
}

func (a *api) getStackState(w http.ResponseWriter, r *http.Request) error {
	e, err := a.docs.Environment(r.Context(), r.PathValue("id"), r.PathValue("env"))
	if err != nil {
		return err
	}
	s, err := document.Stack(e, r.PathValue("stack"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

// LockState is the document of an environment's lock (GET …/lock).
type LockState = document.LockState

func (a *api) getLock(w http.ResponseWriter, r *http.Request) error {
	l, err := a.docs.Lock(r.Context(), r.PathValue("id"), r.PathValue("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

// lockBody says why an environment is frozen.
type lockBody struct {
	Reason string `json:"reason"`
}

func (b *lockBody) check() error {
	if b.Reason == "" {
		return inputErrorf("reason", "required (say why the environment is locked)")
	}
	return nil
}

// lockEnvironment takes a manual lock: an operation of kind lock that
// holds the environment until it is unlocked (201, Location of it).
func (a *api) lockEnvironment(w http.ResponseWriter, r *http.Request) error {
	var in lockBody
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	id, name := r.PathValue("id"), r.PathValue("env")
	if _, err := a.docs.Environment(r.Context(), id, name); err != nil {
		return err
	}
	op, err := a.res.Mutation().LockEnvironment(r.Context(), id, name, in.Reason)
	if err != nil {
		return err
	}
	if err := a.docs.FillOperation(r.Context(), op); err != nil {
		return err
	}
	return created(w, operationURL(op.ID), op)
}

func (a *api) unlockEnvironment(w http.ResponseWriter, r *http.Request) error {
	force, err := queryOf(r).boolean("force")
	if err != nil {
		return err
	}
	id, name := r.PathValue("id"), r.PathValue("env")
	if _, err := a.docs.Environment(r.Context(), id, name); err != nil {
		return err
	}
	op, err := a.res.Mutation().UnlockEnvironment(r.Context(), id, name, force)
	if err != nil {
		return err
	}
	// The lock was just released: read it again for its final status.
	if got, err := a.res.Query().Operation(r.Context(), op.ID); err == nil && got != nil {
		op = got
	}
	if err := a.docs.FillOperation(r.Context(), op); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, op)
}

func (a *api) rollbackCandidates(w http.ResponseWriter, r *http.Request) error {
	p, err := a.docs.RollbackCandidates(r.Context(), r.PathValue("id"), r.PathValue("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// stackOptions are the options of an operation on one stack (the stack is
// in the path).
type stackOptions struct {
	WithDependencies *bool `json:"withDependencies,omitempty"`
	Cascade          *bool `json:"cascade,omitempty"`
	Parallel         *int  `json:"parallel,omitempty"`
	FailFast         *bool `json:"failFast,omitempty"`
	Force            *bool `json:"force,omitempty"`
	SkipValidation   *bool `json:"skipValidation,omitempty"`
}

// operationOptions are the options of an operation on an environment:
// OperationInput without the deployment and environment of the path.
// (stackOptions is not embedded: the decoder would name its fields
// "stackOptions.parallel" in errors.)
type operationOptions struct {
	Stacks           []string `json:"stacks,omitempty"`
	WithDependencies *bool    `json:"withDependencies,omitempty"`
	Cascade          *bool    `json:"cascade,omitempty"`
	Parallel         *int     `json:"parallel,omitempty"`
	FailFast         *bool    `json:"failFast,omitempty"`
	Force            *bool    `json:"force,omitempty"`
	Resume           *bool    `json:"resume,omitempty"`
	SkipValidation   *bool    `json:"skipValidation,omitempty"`
}

func (o *operationOptions) input(id, env string) model.OperationInput {
	return model.OperationInput{DeploymentID: id, Environment: env, Stacks: o.Stacks,
		WithDependencies: o.WithDependencies, Cascade: o.Cascade, Parallel: o.Parallel, FailFast: o.FailFast,
		Force: o.Force, Resume: o.Resume, SkipValidation: o.SkipValidation}
}

type startFunc func(*api, *http.Request, model.OperationInput) (*model.Operation, error)

// starters are the resolvers starting each kind of operation; an operation
// on one stack uses the *Stack variant where there is one.
func starter(kind vocab.Kind, oneStack bool) startFunc {
	return func(a *api, r *http.Request, in model.OperationInput) (*model.Operation, error) {
		m, ctx := a.res.Mutation(), r.Context()
		switch {
		case kind == vocab.KindDeploy && oneStack:
			return m.DeployStack(ctx, in)
		case kind == vocab.KindDeploy:
			return m.Deploy(ctx, in)
		case kind == vocab.KindDestroy && oneStack:
			return m.DestroyStack(ctx, in)
		case kind == vocab.KindDestroy:
			return m.Destroy(ctx, in)
		case kind == vocab.KindPreview:
			return m.Preview(ctx, in)
		default:
			return m.Refresh(ctx, in)
		}
	}
}

// startEnvironment starts a deploy, preview, destroy or refresh of an
// environment and answers 202 with the operation, running.
func startEnvironment(kind vocab.Kind) func(*api, http.ResponseWriter, *http.Request) error {
	start := starter(kind, false)
	return func(a *api, w http.ResponseWriter, r *http.Request) error {
		var in operationOptions
		if err := decodeJSON(w, r, &in, false); err != nil {
			return err
		}
		id, name := r.PathValue("id"), r.PathValue("env")
		if _, err := a.docs.Environment(r.Context(), id, name); err != nil {
			return err
		}
		op, err := start(a, r, in.input(id, name))
		if err != nil {
			return err
		}
		return a.acceptOperation(w, r, op)
	}
}

// startStack starts an operation on one stack of an environment.
func startStack(kind vocab.Kind) func(*api, http.ResponseWriter, *http.Request) error {
	start := starter(kind, true)
	return func(a *api, w http.ResponseWriter, r *http.Request) error {
		var in stackOptions
		if err := decodeJSON(w, r, &in, false); err != nil {
			return err
		}
		id, name, stackName := r.PathValue("id"), r.PathValue("env"), r.PathValue("stack")
		e, err := a.docs.Environment(r.Context(), id, name)
		if err != nil {
			return err
		}
		if _, err := document.Stack(e, stackName); err != nil {
			return err
		}
		opts := operationOptions{Stacks: []string{stackName}, WithDependencies: in.WithDependencies, Cascade: in.Cascade,
			Parallel: in.Parallel, FailFast: in.FailFast, Force: in.Force, SkipValidation: in.SkipValidation}
		op, err := start(a, r, opts.input(id, name))
		if err != nil {
			return err
		}
		return a.acceptOperation(w, r, op)
	}
}

// rollbackBody names the earlier successful operation to return to.
type rollbackBody struct {
	To           string `json:"to"`
	DestroyAdded *bool  `json:"destroyAdded,omitempty"`
	Parallel     *int   `json:"parallel,omitempty"`
}

func (b *rollbackBody) check() error {
	if b.To == "" {
		return inputErrorf("to", "required (the ID of a successful deploy or rollback; see rollback-candidates)")
	}
	return nil
}

func (a *api) rollback(w http.ResponseWriter, r *http.Request) error {
	var in rollbackBody
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	id, name := r.PathValue("id"), r.PathValue("env")
	if _, err := a.docs.Environment(r.Context(), id, name); err != nil {
		return err
	}
	op, err := a.res.Mutation().Rollback(r.Context(), model.RollbackInput{DeploymentID: id, Environment: name,
		To: in.To, DestroyAdded: in.DestroyAdded, Parallel: in.Parallel})
	if err != nil {
		return err
	}
	return a.acceptOperation(w, r, op)
}

// acceptOperation answers 202 Accepted with a started operation and its
// Location.
func (a *api) acceptOperation(w http.ResponseWriter, r *http.Request, op *model.Operation) error {
	if err := a.docs.FillOperation(r.Context(), op); err != nil {
		return err
	}
	return accepted(w, op, op)
}
