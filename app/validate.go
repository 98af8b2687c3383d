package app

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/placeholder"
	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/stacks/protocol"
)

// Finding severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Finding is one problem validation found, naming where.
type Finding struct {
	Severity    string `json:"severity"`
	Environment string `json:"environment,omitempty"`
	Stack       string `json:"stack,omitempty"`
	// Field is the manifest path, e.g. stacks.app.config.dbPort.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	var where []string
	if f.Environment != "" {
		where = append(where, f.Environment)
	}
	if f.Field != "" {
		where = append(where, f.Field)
	} else if f.Stack != "" {
		where = append(where, "stacks."+f.Stack)
	}
	return fmt.Sprintf("%s: %s: %s", f.Severity, strings.Join(where, ": "), f.Message)
}

// Validation is the result of validating a deployment.
type Validation struct {
	DeploymentID string    `json:"deploymentId"`
	Environments []string  `json:"environments"`
	Findings     []Finding `json:"findings"`
}

// Errors counts the findings of severity error.
func (v *Validation) Errors() int {
	n := 0
	for _, f := range v.Findings {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}

// ValidationError is a deployment that failed validation; it lists the
// errors. It is a usage error: the manifest asks for what cannot work.
type ValidationError struct{ Validation *Validation }

func (e *ValidationError) Error() string {
	var lines []string
	for _, f := range e.Validation.Findings {
		if f.Severity == SeverityError {
			lines = append(lines, f.String())
		}
	}
	return fmt.Sprintf("deployment %s is not valid (%d errors; `cloud validate deployment %s` shows all):\n  %s",
		e.Validation.DeploymentID, len(lines), e.Validation.DeploymentID, strings.Join(lines, "\n  "))
}

// ValidateDeployment checks a deployment in env (every environment when
// env is empty) before anything runs: the manifest and its graph, that every
// stack's program exists, and its config against the program's template —
// every key an input it declares, required inputs set (after defaults),
// literal and placeholder values of the declared type, placeholders naming
// outputs the upstream program declares — and that the Pulumi CLI is there.
func (a *App) ValidateDeployment(ctx context.Context, id, env string) (*Validation, error) {
	if err := authorize(ctx, accessPreview, "validate "+id+" (it runs stack programs)", nil); err != nil {
		return nil, err
	}
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &Validation{DeploymentID: id}
	envs := m.EnvironmentNames()
	if env != "" {
		if m.Environment(env) == nil {
			return nil, noEnvironment(m, env)
		}
		envs = []string{env}
	}
	v.Environments = envs
	v.Findings = a.checkPulumi()
	template := a.templateLookup(ctx)
	for _, e := range envs {
		p, err := plan.Build(m, e)
		if err != nil {
			v.Findings = append(v.Findings, Finding{Severity: SeverityError, Environment: e, Message: err.Error()})
			continue
		}
		v.Findings = append(v.Findings, checkPlan(p, template)...)
	}
	return v, nil
}

// checkPulumi is the finding of a missing Pulumi CLI, if it is.
func (a *App) checkPulumi() []Finding {
	if _, err := a.findPulumi(); err != nil {
		return []Finding{{Severity: SeverityError, Field: "pulumi", Message: err.Error()}}
	}
	return nil
}

// templateLookup returns the program templates by program name, asking each
// program once.
func (a *App) templateLookup(ctx context.Context) func(program string) (protocol.Template, error) {
	describer := &runner.Client{}
	templates := map[string]protocol.Template{}
	return func(program string) (protocol.Template, error) {
		if t, ok := templates[program]; ok {
			return t, nil
		}
		prog, err := a.findProgram(ctx, program)
		if err != nil {
			return protocol.Template{}, err
		}
		t, err := a.programTemplate(ctx, describer, prog)
		if err != nil {
			return protocol.Template{}, err
		}
		templates[program] = t
		return t, nil
	}
}

// checkPlan checks every enabled stack's config of a plan against the
// templates of the programs.
func checkPlan(p *plan.Plan, template func(program string) (protocol.Template, error)) []Finding {
	var out []Finding
	env := p.Environment.Name
	add := func(stack, field, format string, args ...any) {
		out = append(out, Finding{Severity: SeverityError, Environment: env, Stack: stack, Field: field,
			Message: fmt.Sprintf(format, args...)})
	}
	for _, name := range p.Graph.Order() {
		s := p.Manifest.Stack(name)
		t, err := template(s.Program)
		if err != nil {
			add(name, "stacks."+name+".program", "%v", err)
			continue
		}
		cfg := p.Config[name]
		if t.Project != nil && t.AnyInputs && len(cfg) > 0 {
			out = append(out, Finding{Severity: SeverityWarning, Environment: env, Stack: name, Field: "stacks." + name + ".config",
				Message: fmt.Sprintf("project %s (%s) declares no config schema in its Pulumi.yaml: its keys are passed as they are, unchecked", s.Program, t.Project.Dir)})
		}
		keys := make([]string, 0, len(cfg))
		for k := range cfg {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		declared := make([]string, 0, len(t.Inputs))
		for k := range t.Inputs {
			declared = append(declared, k)
		}
		for _, k := range keys {
			field := "stacks." + name + ".config." + k
			in, ok := t.Inputs[k]
			if !ok {
				if !t.AnyInputs {
					msg := fmt.Sprintf("program %s has no input %q", s.Program, k)
					if hint := manifest.Suggest(k, declared); hint != "" {
						msg += " (" + hint + ")"
					}
					add(name, field, "%s", msg)
				}
				continue
			}
			got, detail := valueType(p, cfg[k], template)
			if got != "" && in.Type != "" && got != in.Type {
				add(name, field, "input %q is a %s, but the value%s is a %s", k, in.Type, detail, got)
			}
		}
		for _, k := range sortedKeys(t.Inputs) {
			in := t.Inputs[k]
			if _, set := cfg[k]; !set && in.Required && in.Default == nil {
				add(name, "stacks."+name+".config", "required input %q of program %s is not set", k, s.Program)
			}
		}
		// Every output a placeholder names must be one the upstream
		// program declares.
		_ = placeholder.Walk(cfg, func(path, text string) error {
			segs, err := placeholder.Parse(text)
			if err != nil {
				return nil // the manifest parser reports syntax
			}
			for _, seg := range segs {
				r := seg.Ref
				if r == nil || r.Kind != placeholder.KindOutput {
					continue
				}
				up := p.Manifest.Stack(r.Stack)
				if up == nil {
					continue // plan.Build reports unknown stacks
				}
				ut, err := template(up.Program)
				if err != nil {
					continue // reported on the upstream stack
				}
				if !declares(ut, p.Config[r.Stack], r.Output) {
					msg := fmt.Sprintf("%s: program %s of stack %s declares no output %q", r.Raw, up.Program, r.Stack, r.Output)
					if hint := manifest.Suggest(r.Output, sortedKeys(ut.Outputs)); hint != "" {
						msg += " (" + hint + ")"
					}
					add(name, "stacks."+name+".config."+path, "%s", msg)
				}
			}
			return nil
		})
	}
	return out
}

// valueType is the type a config value will have once resolved: a literal's
// own type, a whole-value output placeholder's declared output type, text
// for everything else. "" means unknown (an output of a program that echoes
// its inputs, say).
func valueType(p *plan.Plan, v any, template func(string) (protocol.Template, error)) (typ, detail string) {
	s, ok := v.(string)
	if !ok {
		return typeOf(v), ""
	}
	segs, err := placeholder.Parse(s)
	if err != nil || len(segs) != 1 || segs[0].Ref == nil {
		return protocol.TypeString, ""
	}
	r := segs[0].Ref
	if r.Kind != placeholder.KindOutput {
		return protocol.TypeString, ""
	}
	up := p.Manifest.Stack(r.Stack)
	if up == nil {
		return "", ""
	}
	t, err := template(up.Program)
	if err != nil {
		return "", ""
	}
	if o, ok := t.Outputs[r.Output]; ok {
		return o.Type, " " + r.Raw
	}
	if t.AnyInputs && t.Project == nil {
		if echoed, ok := p.Config[r.Stack][r.Output]; ok {
			if _, isText := echoed.(string); !isText {
				return typeOf(echoed), " " + r.Raw
			}
		}
	}
	return "", ""
}

// typeOf names the template type of a decoded YAML or JSON value.
func typeOf(v any) string {
	switch v.(type) {
	case string:
		return protocol.TypeString
	case float64, int, int64:
		return protocol.TypeNumber
	case bool:
		return protocol.TypeBoolean
	case []any:
		return protocol.TypeArray
	case map[string]any:
		return protocol.TypeObject
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
