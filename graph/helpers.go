package graph

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// Lookups shared by several resolvers.

// deployment loads a deployment with the state of every environment.
func (r *Resolver) deployment(ctx context.Context, id string) (*model.Deployment, error) {
	st, err := r.App.Status(ctx, id, "")
	if err != nil {
		return nil, err
	}
	counts := map[vocab.DeploymentStatus]int{}
	envs := make([]*model.Environment, 0, len(st.Environments))
	for _, e := range st.Environments {
		counts[e.Status]++
		envs = append(envs, toEnvironment(id, e))
	}
	d := toDeployment(st.Deployment, app.OverallStatus(counts))
	d.Revision = st.Revision
	d.Environments = envs
	return d, nil
}

func (r *Resolver) environment(ctx context.Context, id, env string) (*model.Environment, error) {
	st, err := r.App.Status(ctx, id, env)
	if err != nil {
		return nil, err
	}
	if len(st.Environments) == 0 {
		return nil, fmt.Errorf("deployment %s environment %s: %w", id, env, app.ErrNotFound)
	}
	return toEnvironment(id, st.Environments[0]), nil
}

func (r *Resolver) operation(ctx context.Context, id string) (*model.Operation, error) {
	o, stacks, err := r.App.Operation(ctx, id)
	if err != nil {
		return nil, err
	}
	op := toOperation(*o)
	op.Stacks = make([]*model.OperationStack, 0, len(stacks))
	for _, s := range stacks {
		op.Stacks = append(op.Stacks, toOperationStack(s))
	}
	return op, nil
}

func (r *Resolver) stack(ctx context.Context, name string) (*model.StackTemplate, error) {
	list, err := r.App.ListStacks(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if s.Name == name {
			return toStackTemplate(s), nil
		}
	}
	return nil, fmt.Errorf("stack %q is not registered: %w", name, app.ErrNotFound)
}

func (r *Resolver) template(ctx context.Context, name string) (*model.DeploymentTemplate, error) {
	t, err := r.App.Template(ctx, name)
	if err != nil {
		return nil, err
	}
	list, err := r.App.Templates(ctx)
	if err != nil {
		return nil, err
	}
	for _, info := range list {
		if info.Name == name {
			return toTemplate(info, t.Body), nil
		}
	}
	return nil, fmt.Errorf("template %s: %w", name, app.ErrNotFound)
}

func (r *Resolver) manifestChange(ctx context.Context, id string, rev int, changed bool) (*model.ManifestChange, error) {
	d, err := r.deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	return &model.ManifestChange{Deployment: d, Revision: rev, Changed: changed}, nil
}

func (r *Resolver) environmentChange(ctx context.Context, id, env string, rev int, op *store.Operation) (*model.EnvironmentChange, error) {
	e, err := r.environment(ctx, id, env)
	if err != nil {
		return nil, err
	}
	ch := &model.EnvironmentChange{Environment: e, Revision: rev}
	if op != nil {
		ch.Operation = toOperation(*op)
	}
	return ch, nil
}

// start starts an operation in the background of the server and returns
// it running. command is the CLI command it corresponds to, recorded on the
// operation with the options that were set.
func (r *Resolver) start(ctx context.Context, command string, kind vocab.Kind, in model.OperationInput, needStacks bool) (*model.Operation, error) {
	if needStacks && len(in.Stacks) == 0 {
		return nil, inputErrorf("input.stacks", command+" needs at least one stack")
	}
	if err := checkParallel(in.Parallel); err != nil {
		return nil, err
	}
	req := app.RunRequest{
		DeploymentID: in.DeploymentID, Environment: in.Environment, Kind: kind, Stacks: in.Stacks,
		RunOptions: app.RunOptions{WithDependencies: deref(in.WithDependencies), Cascade: deref(in.Cascade),
			Parallel: deref(in.Parallel), FailFast: deref(in.FailFast), Force: deref(in.Force), Resume: deref(in.Resume),
			SkipValidation: deref(in.SkipValidation)},
		Command: command, Flags: flagsOf(in),
	}
	op, err := r.App.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	return toOperation(*op), nil
}

func checkParallel(p *int) error {
	if p != nil && (*p < 1 || *p > app.MaxParallel) {
		return inputErrorf("input.parallel", fmt.Sprintf("must be between 1 and %d", app.MaxParallel))
	}
	return nil
}

// flagsOf records the options of an operation that were set, as the CLI
// records its flags.
func flagsOf(in model.OperationInput) map[string]any {
	f := map[string]any{}
	set := func(name string, b *bool) {
		if b != nil && *b {
			f[name] = true
		}
	}
	set("with-dependencies", in.WithDependencies)
	set("cascade", in.Cascade)
	set("fail-fast", in.FailFast)
	set("force", in.Force)
	set("resume", in.Resume)
	set("skip-validation", in.SkipValidation)
	if in.Parallel != nil {
		f["parallel"] = *in.Parallel
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// events reads one page of events after a sequence number (per operation
// when f.OperationID is set, else the store-wide globalSeq).
func (r *Resolver) events(ctx context.Context, f store.EventFilter, afterSeq, first *int) (*model.EventConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	after := int64(deref(afterSeq))
	if after < 0 {
		return nil, inputErrorf("afterSeq", "must not be negative")
	}
	evs, err := r.App.EventsAfter(ctx, f, after, n+1)
	if err != nil {
		return nil, err
	}
	info := &model.PageInfo{HasNextPage: len(evs) > n}
	evs = evs[:min(n, len(evs))]
	out := &model.EventConnection{Nodes: make([]*model.Event, 0, len(evs)), PageInfo: info}
	for _, e := range evs {
		out.Nodes = append(out.Nodes, model.EventFrom(e))
	}
	if len(evs) > 0 {
		last := evs[len(evs)-1]
		key := last.Seq
		if f.OperationID == "" {
			key = last.GlobalSeq
		}
		c := EncodeCursor(strconv.FormatInt(key, 10))
		info.EndCursor = &c
	}
	return out, nil
}

// subscribe follows stored then live events through the hub.
func (r *Resolver) subscribe(ctx context.Context, f store.EventFilter, afterSeq *int) (<-chan *model.EventMessage, error) {
	after := int64(deref(afterSeq))
	if after < 0 {
		return nil, inputErrorf("afterSeq", "must not be negative")
	}
	items, err := r.Feed.Subscribe(ctx, f, after)
	if err != nil {
		return nil, err
	}
	out := make(chan *model.EventMessage)
	go func() {
		defer close(out)
		for it := range items {
			msg := &model.EventMessage{Events: make([]*model.Event, 0, len(it.Events))}
			for _, e := range it.Events {
				msg.Events = append(msg.Events, model.EventFrom(*e))
			}
			if it.Overflow != nil {
				msg.Overflow = &model.Overflow{ResumeAfter: int(it.Overflow.ResumeAfter), Reason: it.Overflow.Reason}
			}
			select {
			case out <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
