package document

import (
	"context"
	"fmt"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/graph/model"
)

// The documents of a deployment's parts and of what deployments are made
// from (registered stacks, templates), as REST serves them and the CLI's
// list-environments, graph, list-stacks, list-templates, show-template and
// validate dependencies print them.

// Environments are every environment of deployment id, in the manifest's
// order, each with its stacks.
func (d *Reader) Environments(ctx context.Context, id string) (Page[*model.Environment], error) {
	dep, err := d.Deployment(ctx, id)
	if err != nil {
		return Page[*model.Environment]{}, err
	}
	return ListOf(dep.Environments), nil
}

// Plan is the resolved plan of one environment: its stacks in graph
// order with their layers, dependencies and config.
func (d *Reader) Plan(ctx context.Context, id, env string) (*model.Plan, error) {
	if _, err := d.Environment(ctx, id, env); err != nil {
		return nil, err
	}
	return d.res.Query().Plan(ctx, id, env)
}

// Stacks is one page of the registered stacks (first and after as the
// GraphQL field takes them).
func (d *Reader) Stacks(ctx context.Context, first *int, after *string) (Page[*model.StackTemplate], error) {
	c, err := d.res.Query().Stacks(ctx, first, after)
	if err != nil {
		return Page[*model.StackTemplate]{}, err
	}
	return PageOf(c.Nodes, c.PageInfo, c.TotalCount), nil
}

// Stack is one registered stack; ErrNotFound when none is of that name
// (GraphQL answers null).
func (d *Reader) Stack(ctx context.Context, name string) (*model.StackTemplate, error) {
	s, err := d.res.Query().Stack(ctx, name)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("stack %q is not registered: %w", name, app.ErrNotFound)
	}
	return s, nil
}

// Templates is one page of the deployment templates.
func (d *Reader) Templates(ctx context.Context, first *int, after *string) (Page[*model.DeploymentTemplate], error) {
	c, err := d.res.Query().Templates(ctx, first, after)
	if err != nil {
		return Page[*model.DeploymentTemplate]{}, err
	}
	return PageOf(c.Nodes, c.PageInfo, c.TotalCount), nil
}

// Template is one deployment template with its body; ErrNotFound when
// there is none of that name (GraphQL answers null).
func (d *Reader) Template(ctx context.Context, name string) (*model.DeploymentTemplate, error) {
	t, err := d.res.Query().Template(ctx, name)
	if err != nil {
		return nil, err
	}
	if t == nil {
		// The core's error names the templates there are.
		if _, err := d.res.App.Template(ctx, name); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("template %q: %w", name, app.ErrNotFound)
	}
	return t, nil
}

// Dependencies is the dependency graph of every environment of
// deployment id: its layers, or why it cannot be built.
func (d *Reader) Dependencies(ctx context.Context, id string) (Page[*model.GraphCheck], error) {
	checks, err := d.res.Query().ValidateDependencies(ctx, id)
	if err != nil {
		return Page[*model.GraphCheck]{}, err
	}
	return ListOf(checks), nil
}

// ValidateDeployment checks deployment id (in env, or every environment
// when env is nil) as a deploy would, without running anything.
func (d *Reader) ValidateDeployment(ctx context.Context, id string, env *string) (*model.Validation, error) {
	if env != nil {
		if _, err := d.Environment(ctx, id, *env); err != nil {
			return nil, err
		}
	}
	return d.res.Query().ValidateDeployment(ctx, id, env)
}

// ValidateTemplate checks a template as init would.
func (d *Reader) ValidateTemplate(ctx context.Context, name string) (*model.Validation, error) {
	if _, err := d.Template(ctx, name); err != nil {
		return nil, err
	}
	return d.res.Query().ValidateTemplate(ctx, name)
}

// ValidateStacks runs every registered stack's program under Pulumi's
// mocks and compares what it read and exported with its template (one
// stack's through the GraphQL field validateStack).
func (d *Reader) ValidateStacks(ctx context.Context, strict bool) (Page[*model.StackValidation], error) {
	vs, err := d.res.App.ValidateAllStacks(ctx, strict)
	if err != nil {
		return Page[*model.StackValidation]{}, err
	}
	return ListOf(graph.StackValidations(vs)), nil
}

// LockState is the lock of an environment: who holds it, if anyone — a
// manual lock (change freeze) or the operation running there.
type LockState struct {
	Locked bool             `json:"locked"`
	Holder *model.Operation `json:"holder,omitempty"`
}

// Lock is the lock of environment env of deployment id.
func (d *Reader) Lock(ctx context.Context, id, env string) (*LockState, error) {
	if _, err := d.Environment(ctx, id, env); err != nil {
		return nil, err
	}
	op, err := d.res.Query().EnvironmentLock(ctx, id, env)
	if err != nil {
		return nil, err
	}
	if op != nil {
		if err := d.FillOperation(ctx, op); err != nil {
			return nil, err
		}
	}
	return &LockState{Locked: op != nil, Holder: op}, nil
}

// TeamLock is the team lock of environment env of deployment id (free
// and not configured when team sync is off).
func (d *Reader) TeamLock(ctx context.Context, id, env string) (*model.TeamLock, error) {
	if _, err := d.Environment(ctx, id, env); err != nil {
		return nil, err
	}
	return d.res.Query().TeamLock(ctx, id, env)
}
