// Package document is the API's documents as every door serves them: the
// GraphQL schema's types (graph/model), complete (REST and the CLI have no
// field selection, so an environment comes with its stacks and an
// operation with its stacks), and the one envelope of lists.
//
// REST answers with these documents, the CLI's -o json and -o yaml print
// them, locally and with --server: a script sees the same bytes whichever
// door it reads.
package document

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/graph/model"
)

// Page is the body of every list: items, the cursor of the next page
// (absent on the last one) to pass as after, and how many items the whole
// list has.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor,omitempty"`
	TotalCount int     `json:"totalCount"`
}

// PageOf is one page of a connection; items is never null.
func PageOf[T any](items []T, info *model.PageInfo, total int) Page[T] {
	if items == nil {
		items = []T{}
	}
	p := Page[T]{Items: items, TotalCount: total}
	if info != nil && info.HasNextPage && info.EndCursor != nil {
		p.NextCursor = info.EndCursor
	}
	return p
}

// ListOf is a list that is never long enough to page (the environments of
// a deployment, the outputs of an environment), in the same envelope.
func ListOf[T any](items []T) Page[T] {
	return PageOf(items, nil, len(items))
}

// EventPage is a page of events. Events are appended while an operation
// runs, so a list has no total; lastSeq is where to continue (afterSeq)
// whether or not this page was the last one for now.
type EventPage struct {
	Items      []*model.Event `json:"items"`
	NextCursor *string        `json:"nextCursor,omitempty"`
	// LastSeq is the seq (deployment events: the globalSeq) of the last
	// item, or the afterSeq asked for when the page is empty.
	LastSeq int `json:"lastSeq"`
}

// EventPageOf is a page of an event connection read after afterSeq;
// global says the cursor is the globalSeq (events of a deployment rather
// than of one operation).
func EventPageOf(c *model.EventConnection, afterSeq *int, global bool) EventPage {
	p := EventPage{Items: c.Nodes}
	if p.Items == nil {
		p.Items = []*model.Event{}
	}
	if afterSeq != nil {
		p.LastSeq = *afterSeq
	}
	if n := len(p.Items); n > 0 {
		p.LastSeq = p.Items[n-1].Seq
		if global {
			p.LastSeq = p.Items[n-1].GlobalSeq
		}
	}
	if c.PageInfo != nil && c.PageInfo.HasNextPage && c.PageInfo.EndCursor != nil {
		p.NextCursor = c.PageInfo.EndCursor
	}
	return p
}

// Reader reads complete documents through the resolvers GraphQL
// serves, so that what REST and the CLI print is what a GraphQL client
// selecting every field gets.
type Reader struct {
	res *graph.Resolver
}

// New reads documents through res.
func New(res *graph.Resolver) *Reader { return &Reader{res: res} }

// Resolver is the resolver the documents are read through, for the
// requests that are not reads (mutations).
func (d *Reader) Resolver() *graph.Resolver { return d.res }

// Deployment is deployment id with its environments; ErrNotFound when
// there is none (GraphQL answers null).
func (d *Reader) Deployment(ctx context.Context, id string) (*model.Deployment, error) {
	dep, err := d.deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	return dep, d.FillDeployment(ctx, dep)
}

// deployment is deployment id without its environments filled in, for
// documents that only hang from it.
func (d *Reader) deployment(ctx context.Context, id string) (*model.Deployment, error) {
	dep, err := d.res.Query().Deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	if dep == nil {
		return nil, fmt.Errorf("deployment %s: %w", id, app.ErrNotFound)
	}
	return dep, nil
}

// Deployments is one page of the deployments (first and after as the
// GraphQL field takes them), each complete.
func (d *Reader) Deployments(ctx context.Context, first *int, after *string, includeDestroyed *bool) (Page[*model.Deployment], error) {
	c, err := d.res.Query().Deployments(ctx, first, after, includeDestroyed)
	if err != nil {
		return Page[*model.Deployment]{}, err
	}
	for _, dep := range c.Nodes {
		if err := d.FillDeployment(ctx, dep); err != nil {
			return Page[*model.Deployment]{}, err
		}
	}
	return PageOf(c.Nodes, c.PageInfo, c.TotalCount), nil
}

// Environment is one environment of a deployment, ErrNotFound when either
// is missing (naming the environments there are).
func (d *Reader) Environment(ctx context.Context, id, name string) (*model.Environment, error) {
	dep, err := d.Deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	e, err := d.res.Deployment().Environment(ctx, dep, name)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, &NoEnvironmentError{Deployment: dep, Name: name}
	}
	return e, d.FillEnvironment(ctx, e)
}

// NoEnvironmentError is a deployment without the environment asked for.
// It is a not-found (404 on REST); the CLI, where the name is an
// argument the user typed, calls it a usage error.
type NoEnvironmentError struct {
	Deployment *model.Deployment
	Name       string
}

func (e *NoEnvironmentError) Error() string {
	names := make([]string, 0, len(e.Deployment.Environments))
	for _, env := range e.Deployment.Environments {
		names = append(names, env.Name)
	}
	return fmt.Sprintf("deployment %s has no environment %q (have: %s)", e.Deployment.ID, e.Name, strings.Join(names, ", "))
}

// Unwrap makes it an app.ErrNotFound.
func (e *NoEnvironmentError) Unwrap() error { return app.ErrNotFound }

// Narrow keeps only environment name of dep (every one when name is
// ""): `cloud status -e` shows one.
func Narrow(dep *model.Deployment, name string) error {
	if name == "" {
		return nil
	}
	for _, e := range dep.Environments {
		if e.Name == name {
			dep.Environments = []*model.Environment{e}
			return nil
		}
	}
	return &NoEnvironmentError{Deployment: dep, Name: name}
}

// Stack is the state of one stack in an environment, ErrNotFound when the
// manifest has no such stack.
func Stack(e *model.Environment, name string) (*model.StackState, error) {
	for _, s := range e.Stacks {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, &NoStackError{Environment: e, Name: name}
}

// HasStack is nil when the manifest of dep has stack name (in any
// environment), else a usage error naming the nearest one: the name is an
// argument the user typed.
func HasStack(dep *model.Deployment, name string) error {
	var names []string
	seen := map[string]bool{}
	for _, e := range dep.Environments {
		for _, s := range e.Stacks {
			if s.Name == name {
				return nil
			}
			if !seen[s.Name] {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	msg := fmt.Sprintf("deployment %s has no stack %q", dep.ID, name)
	if hint := manifest.Suggest(name, names); hint != "" {
		msg += " (" + hint + ")"
	}
	return &app.UsageError{Msg: msg}
}

// Outputs are the outputs of every stack of an environment (or of one),
// secret values only with showSecrets.
func (d *Reader) Outputs(ctx context.Context, id, env string, stack *string, showSecrets *bool) (Page[*model.Output], error) {
	e, err := d.Environment(ctx, id, env)
	if err != nil {
		return Page[*model.Output]{}, err
	}
	if stack != nil {
		if _, err := Stack(e, *stack); err != nil {
			return Page[*model.Output]{}, err
		}
	}
	outs, err := d.res.Query().Outputs(ctx, id, env, stack, showSecrets)
	if err != nil {
		return Page[*model.Output]{}, err
	}
	return ListOf(outs), nil
}

// Operations is one page of a deployment's operations, newest first,
// each with its stacks.
func (d *Reader) Operations(ctx context.Context, id string, env *string, first *int, after *string) (Page[*model.Operation], error) {
	c, err := d.res.Query().Operations(ctx, id, env, first, after)
	if err != nil {
		return Page[*model.Operation]{}, err
	}
	return PageOf(c.Nodes, c.PageInfo, c.TotalCount), d.fillOperations(ctx, c.Nodes)
}

// RollbackCandidates are the operations environment env of deployment id
// can be rolled back to, newest first, each with its stacks.
func (d *Reader) RollbackCandidates(ctx context.Context, id, env string) (Page[*model.Operation], error) {
	if _, err := d.Environment(ctx, id, env); err != nil {
		return Page[*model.Operation]{}, err
	}
	ops, err := d.res.Query().RollbackCandidates(ctx, id, env)
	if err != nil {
		return Page[*model.Operation]{}, err
	}
	return ListOf(ops), d.fillOperations(ctx, ops)
}

// Operation is operation id with its stacks; ErrNotFound when there is
// none.
func (d *Reader) Operation(ctx context.Context, id string) (*model.Operation, error) {
	op, err := d.res.Query().Operation(ctx, id)
	if err != nil {
		return nil, err
	}
	if op == nil {
		return nil, fmt.Errorf("operation %s: %w", id, app.ErrNotFound)
	}
	return op, d.FillOperation(ctx, op)
}

// Events is a page of an operation's events after afterSeq.
func (d *Reader) Events(ctx context.Context, opID string, afterSeq *int, stacks, kinds []string, first *int) (EventPage, error) {
	c, err := d.res.Query().Events(ctx, opID, afterSeq, stacks, kinds, first)
	if err != nil {
		return EventPage{}, err
	}
	return EventPageOf(c, afterSeq, false), nil
}

// FillDeployment completes a deployment: its environments, each with its
// stacks and last operation.
func (d *Reader) FillDeployment(ctx context.Context, dep *model.Deployment) error {
	envs, err := d.res.Deployment().Environments(ctx, dep)
	if err != nil {
		return err
	}
	if envs == nil {
		envs = []*model.Environment{}
	}
	dep.Environments = envs
	for _, e := range envs {
		if err := d.FillEnvironment(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// FillEnvironment completes an environment: its stacks never null, its
// last operation with its stacks.
func (d *Reader) FillEnvironment(ctx context.Context, e *model.Environment) error {
	if e.Stacks == nil {
		e.Stacks = []*model.StackState{}
	}
	if e.LastOperation != nil {
		return d.FillOperation(ctx, e.LastOperation)
	}
	return nil
}

func (d *Reader) fillOperations(ctx context.Context, ops []*model.Operation) error {
	for _, op := range ops {
		if err := d.FillOperation(ctx, op); err != nil {
			return err
		}
	}
	return nil
}

// FillOperation loads the stacks of an operation, so that an operation has
// the same shape in every document.
func (d *Reader) FillOperation(ctx context.Context, op *model.Operation) error {
	stacks, err := d.res.Operation().Stacks(ctx, op)
	if err != nil {
		return err
	}
	if stacks == nil {
		stacks = []*model.OperationStack{}
	}
	op.Stacks = stacks
	return nil
}

// NoStackError is an environment without the stack asked for: a
// not-found (404 on REST), a usage error where the user typed the name.
type NoStackError struct {
	Environment *model.Environment
	Name        string
}

func (e *NoStackError) Error() string {
	return fmt.Sprintf("deployment %s has no stack %q in %s", e.Environment.DeploymentID, e.Name, e.Environment.Name)
}

// Unwrap makes it an app.ErrNotFound.
func (e *NoStackError) Unwrap() error { return app.ErrNotFound }
