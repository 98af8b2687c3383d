package graph

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// Conversions from the application core's types to the schema's.

func toDeployment(d store.Deployment, status vocab.DeploymentStatus) *model.Deployment {
	return &model.Deployment{
		ID: d.ID, Organization: d.Organization, Project: d.Project, Domain: d.Domain, Template: d.Template,
		PulumiOrg: d.PulumiOrg, Backend: d.Backend, Revision: d.CurrentRevision,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Deleted: d.Deleted,
		Status: status,
	}
}

func toEnvironment(depID string, e app.EnvironmentStatus) *model.Environment {
	sum := e.Summary()
	env := &model.Environment{
		DeploymentID: depID, Name: e.Name, Enabled: e.Enabled, Region: e.Region, AccountID: e.AccountID,
		Status: e.Status, Deployed: sum.Deployed, Failed: sum.Failed, NotDeployed: sum.NotDeployed,
		Stacks: make([]*model.StackState, 0, len(e.Stacks)),
	}
	for _, s := range e.Stacks {
		env.Stacks = append(env.Stacks, &model.StackState{
			Name: s.Name, Environment: e.Name, Layer: s.Layer, Enabled: s.Enabled, Dependencies: nonNil(s.Dependencies),
			Status: s.Status, Reason: s.Reason, ResourceCount: s.ResourceCount, LastOperationID: s.LastOperation,
		})
	}
	if e.LastOperation != nil {
		env.LastOperation = toOperation(*e.LastOperation)
	}
	return env
}

func toOperation(o store.Operation) *model.Operation {
	end := time.Now()
	if o.FinishedAt != nil {
		end = *o.FinishedAt
	}
	op := &model.Operation{
		ID: o.ID, DeploymentID: o.DeploymentID, Environment: o.Environment,
		Kind: o.Kind, Status: o.Status, Revision: o.Revision,
		Command: o.Command, Actor: o.Actor, Host: o.Host, StartedAt: o.StartedAt, FinishedAt: o.FinishedAt,
		Duration: end.Sub(o.StartedAt).Seconds(), Error: o.Error, LastSeq: int(o.LastSeq),
	}
	if len(o.Flags) > 0 {
		op.Flags = o.Flags
	}
	if len(o.Summary) > 0 {
		op.Summary = o.Summary
	}
	return op
}

func toOperations(ops []store.Operation) []*model.Operation {
	out := make([]*model.Operation, 0, len(ops))
	for _, o := range ops {
		out = append(out, toOperation(o))
	}
	return out
}

func toOperationStack(s store.OperationStack) *model.OperationStack {
	st := &model.OperationStack{
		Stack: s.Stack, Status: s.Status, Reason: s.Reason, StartedAt: s.StartedAt,
		FinishedAt: s.FinishedAt, Error: s.Error, ResourceCount: s.ResourceCount,
	}
	if len(s.Changes) > 0 {
		st.Changes = s.Changes
	}
	return st
}

func toOutputs(outs map[string]map[string]store.Output, showSecrets bool) []*model.Output {
	var list []*model.Output
	for _, stack := range slices.Sorted(maps.Keys(outs)) {
		for _, name := range slices.Sorted(maps.Keys(outs[stack])) {
			o := outs[stack][name]
			out := &model.Output{Stack: stack, Name: name, Secret: o.Secret, Sealed: o.Sealed}
			if o.Secret && !showSecrets {
				out.Redacted = true
			} else {
				out.Value = o.Value
			}
			list = append(list, out)
		}
	}
	return nonNil(list)
}

func toRevision(r store.ManifestRevision) *model.ManifestRevision {
	return &model.ManifestRevision{DeploymentID: r.DeploymentID, Revision: r.Revision, Yaml: r.YAML,
		Sha256: r.SHA256, Author: r.Author, CreatedAt: r.CreatedAt}
}

func toPlan(depID string, p *plan.Plan) *model.Plan {
	out := &model.Plan{DeploymentID: depID, Environment: p.Environment.Name}
	byLayer := map[int][]string{}
	maxLayer := -1
	for _, name := range p.Graph.Nodes() {
		l := p.Layers[name]
		byLayer[l] = append(byLayer[l], name)
		maxLayer = max(maxLayer, l)
		prog := name
		if s := p.Manifest.Stack(name); s != nil && s.Program != "" {
			prog = s.Program
		}
		ps := &model.PlanStack{Name: name, Program: prog, Layer: l, Dependencies: nonNil(p.Graph.Dependencies(name)),
			Implicit: nonNil(p.Implicit[name])}
		if c := p.Config[name]; len(c) > 0 {
			ps.Config = c
		}
		out.Stacks = append(out.Stacks, ps)
	}
	sort.Slice(out.Stacks, func(i, j int) bool {
		if out.Stacks[i].Layer != out.Stacks[j].Layer {
			return out.Stacks[i].Layer < out.Stacks[j].Layer
		}
		return out.Stacks[i].Name < out.Stacks[j].Name
	})
	out.Layers = make([][]string, maxLayer+1)
	for l := range out.Layers {
		names := byLayer[l]
		sort.Strings(names)
		out.Layers[l] = nonNil(names)
	}
	out.Stacks = nonNil(out.Stacks)
	return out
}

func toStackTemplate(s app.StackInfo) *model.StackTemplate {
	t := &model.StackTemplate{
		Name: s.Name, Description: s.Description, Dependencies: nonNil(s.Dependencies), AnyInputs: s.AnyInputs,
		Priority: s.Priority, Source: s.Source, ProgramHash: s.ProgramHash, Version: s.Version, RegisteredAt: s.RegisteredAt,
		Inputs: []*model.StackInput{}, Outputs: []*model.StackOutput{}, AnyOutputs: s.AnyOutputs, Kind: s.Kind,
	}
	if p := s.Project; p != nil {
		t.Project = &model.StackProject{Name: p.Name, Runtime: p.Runtime, Dir: p.Dir}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Inputs)) {
		in := s.Inputs[name]
		t.Inputs = append(t.Inputs, &model.StackInput{Name: name, Type: in.Type, Required: in.Required, Secret: in.Secret,
			Default: in.Default, Description: in.Description})
	}
	for _, name := range slices.Sorted(maps.Keys(s.Outputs)) {
		o := s.Outputs[name]
		t.Outputs = append(t.Outputs, &model.StackOutput{Name: name, Type: o.Type, Secret: o.Secret, Description: o.Description})
	}
	return t
}

func toTemplate(info app.TemplateInfo, body string) *model.DeploymentTemplate {
	return &model.DeploymentTemplate{Name: info.Name, Description: info.Description, Builtin: info.Builtin,
		Stacks: nonNil(info.Stacks), Body: body}
}

func toValidation(subject string, v *app.Validation) *model.Validation {
	out := &model.Validation{Subject: subject, Environments: nonNil(v.Environments), Findings: []*model.Finding{},
		Errors: v.Errors()}
	out.Ok = out.Errors == 0
	for _, f := range v.Findings {
		out.Findings = append(out.Findings, &model.Finding{Severity: f.Severity, Environment: f.Environment,
			Stack: f.Stack, Field: f.Field, Message: f.Message})
	}
	return out
}

func toStackValidation(v *app.StackValidation) *model.StackValidation {
	conv := func(fs []app.StackFinding) []*model.StackFinding {
		out := []*model.StackFinding{}
		for _, f := range fs {
			out = append(out, &model.StackFinding{Kind: f.Kind, Name: f.Name, Message: f.Message})
		}
		return out
	}
	return &model.StackValidation{Stack: v.Stack, Errors: conv(v.Errors), Warnings: conv(v.Warnings), Ok: v.OK()}
}

// nonNil makes a nil slice empty: the schema's lists are non-null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// StackValidations are the documents of stack validations the core made
// without a resolver (validating every registered stack at once).
func StackValidations(vs []app.StackValidation) []*model.StackValidation {
	out := make([]*model.StackValidation, 0, len(vs))
	for i := range vs {
		out = append(out, toStackValidation(&vs[i]))
	}
	return out
}
