package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/stacks/project"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
)

// StackInfo is a registered stack as listed by `cloud list-stacks`: the
// template its program declares, with what registration adds to it.
type StackInfo struct {
	protocol.Template
	// Kind is "program" (an executable, or built into cloud) or "project"
	// (a Pulumi project directory).
	Kind string `json:"kind"`
	// Priority orders stacks that could run at the same time; set by
	// update-stack, kept across re-registrations.
	Priority int `json:"priority,omitempty"`
	// Source is the program's path; ProgramHash its identity when it was
	// registered, so a rebuilt program is noticed.
	Source       string    `json:"source"`
	ProgramHash  string    `json:"programHash"`
	Version      int       `json:"version"`
	RegisteredAt time.Time `json:"registeredAt"`
}

// registration is the JSON stored as a stack template: the program's
// template plus the registry's own fields. Extra fields ride along in the
// same JSON so that readers that only want the template (the run's
// programTemplate) decode it unchanged.
type registration struct {
	protocol.Template
	Priority int `json:"priority,omitempty"`
}

// StackFinding is one disagreement between a program and its template.
// (Finding, without the prefix, is a manifest validation finding.)
type StackFinding struct {
	// Kind is "input" or "output".
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

// StackValidation is the result of validating one registered stack.
type StackValidation struct {
	Stack    string         `json:"stack"`
	Errors   []StackFinding `json:"errors"`
	Warnings []StackFinding `json:"warnings"`
}

// OK reports whether the stack has no errors.
func (v *StackValidation) OK() bool { return len(v.Errors) == 0 }

// RegisterStack registers a stack program or a Pulumi project. nameOrPath
// is a program name (looked up in the stacks directories and the built-in
// programs), a path to an executable, or a directory holding a Pulumi.yaml:
// a project stack, which cloud runs with the project's own runtime. It is
// registered under name, or else the program's (a project's `name`): the
// template is read from the program and stored as a new version when it
// changed. deps replaces the template's default dependencies when depsSet
// (an empty deps then means none). The priority of an earlier registration
// is kept. A path that is neither a project nor a stack program is a usage
// error that says so, never carrying what the program printed.
func (a *App) RegisterStack(ctx context.Context, nameOrPath, name string, deps []string, depsSet bool) (*store.StackTemplate, error) {
	if err := authorize(ctx, accessAdmin, "register stacks", nil); err != nil {
		return nil, err
	}
	if nameOrPath == "" {
		return nil, usagef("register-stack: a stack name, program path or project directory is required")
	}
	if name != "" && !stackName.MatchString(name) {
		return nil, usagef("register-stack: name %q is not a program name (letters, digits, '.', '-' and '_')", name)
	}
	var prog runner.Program
	var err error
	isPath := strings.ContainsAny(nameOrPath, `/\`) || nameOrPath == "." || nameOrPath == ".."
	switch fi, statErr := os.Stat(nameOrPath); {
	case isPath && statErr == nil && fi.IsDir():
		if !project.IsProject(nameOrPath) {
			return nil, usagef("register-stack: %s is a directory with no Pulumi.yaml or Pulumi.yml: not a Pulumi project", nameOrPath)
		}
		prog, err = a.locator.FindProject(nameOrPath)
	case isPath:
		prog, err = a.locator.FindPath(nameOrPath)
	default:
		prog, err = a.locator.Find(nameOrPath)
	}
	if err != nil {
		return nil, usagef("%v", err)
	}
	t, err := a.describe(ctx, a.describeClient(), prog)
	if err != nil {
		var uerr *UsageError
		if isPath && !errors.As(err, &uerr) {
			// The program's output stays out of the answer: the caller of
			// the API may not see what an arbitrary executable printed.
			return nil, usagef("register-stack: %s is not a stack program: it did not answer the describe request of the runner protocol", nameOrPath)
		}
		return nil, err
	}
	if name == "" {
		name = t.Name
	}
	if !stackName.MatchString(name) {
		return nil, usagef("register-stack: the program's name %q is not a program name (letters, digits, '.', '-' and '_'); register it with --name", name)
	}
	prog.Name, t.Name = name, name
	reg := registration{Template: t}
	if depsSet {
		reg.Dependencies = cleanNames(deps)
	}
	if old, err := a.registration(ctx, name); err == nil {
		reg.Priority = old.Priority
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err := a.putRegistration(ctx, name, reg, prog.Source(), prog.Identity); err != nil {
		return nil, err
	}
	return a.db.StackTemplate(ctx, name)
}

// stackName is what a registered program may be called: a Pulumi project
// name, never a path.
var stackName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// UpdateStack changes what registration adds to a stack's template: its
// description, default dependencies or priority (nil leaves a field as it
// is). The change is a new version in the stack's history.
func (a *App) UpdateStack(ctx context.Context, name string, description *string, deps *[]string, priority *int) error {
	if err := authorize(ctx, accessAdmin, "update stack "+name, nil); err != nil {
		return err
	}
	if description == nil && deps == nil && priority == nil {
		return usagef("update-stack %s: nothing to change (give --description, --dependencies or --priority)", name)
	}
	st, err := a.db.StackTemplate(ctx, name)
	if err != nil {
		return stackNotFound(err, name)
	}
	var reg registration
	if err := json.Unmarshal(st.Template, &reg); err != nil {
		return fmt.Errorf("stack %s: stored template is not readable: %w", name, err)
	}
	if description != nil {
		reg.Description = *description
	}
	if deps != nil {
		reg.Dependencies = cleanNames(*deps)
	}
	if priority != nil {
		reg.Priority = *priority
	}
	return a.putRegistration(ctx, name, reg, st.Source, st.ProgramHash)
}

// UnregisterStack removes a stack's registration (its history stays). It
// refuses while the current manifest of a deployment has a stack running
// that program, naming the deployments, unless force: the next deploy of
// those would otherwise describe the program again or fail to find it.
func (a *App) UnregisterStack(ctx context.Context, name string, force bool) error {
	if err := authorize(ctx, accessAdmin, "unregister stack "+name, nil); err != nil {
		return err
	}
	if _, err := a.db.StackTemplate(ctx, name); err != nil {
		return stackNotFound(err, name)
	}
	if !force {
		users, err := a.programUsers(ctx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return usagef("stack %s is used by %s; unregister with --force to remove it anyway",
				name, strings.Join(users, ", "))
		}
	}
	return stackNotFound(a.db.DeleteStackTemplate(ctx, name), name)
}

// programUsers names, per deployment, the stacks of its current manifest
// that run program: "D1BRV40 (db, db2)".
func (a *App) programUsers(ctx context.Context, program string) ([]string, error) {
	deps, err := a.db.Deployments(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, d := range deps {
		stacks, err := a.db.DeploymentStacks(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range stacks {
			if s.Program == program {
				names = append(names, s.Name)
			}
		}
		if len(names) > 0 {
			users = append(users, fmt.Sprintf("deployment %s (stacks %s)", d.ID, strings.Join(names, ", ")))
		}
	}
	return users, nil
}

// ListStacks returns the registered stacks ordered by name.
func (a *App) ListStacks(ctx context.Context) ([]StackInfo, error) {
	ts, err := a.db.StackTemplates(ctx)
	if err != nil {
		return nil, err
	}
	return stackInfos(ts)
}

// StackHistory returns every registered version of a stack, oldest first.
// It returns an error wrapping ErrNotFound if it was never registered.
func (a *App) StackHistory(ctx context.Context, name string) ([]StackInfo, error) {
	ts, err := a.db.StackTemplateHistory(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("stack %s: %w", name, ErrNotFound)
	}
	return stackInfos(ts)
}

// ValidateStack runs a registered stack's program under Pulumi's mocks
// (the runner protocol's "validate" request) and compares what it read and
// exported with its registered template. Errors: an input read but not
// declared (unless the template accepts any input), a declared output not
// exported, the program failing. Warnings: a declared input never read, an
// exported output not declared (unless any input is accepted, as such
// stacks echo inputs), an output whose type or secret flag differs from the
// declaration. strict makes every warning an error.
func (a *App) ValidateStack(ctx context.Context, name string, strict bool) (*StackValidation, error) {
	if err := authorize(ctx, accessPreview, "validate stack "+name+" (it runs the program)", nil); err != nil {
		return nil, err
	}
	st, err := a.db.StackTemplate(ctx, name)
	if err != nil {
		return nil, stackNotFound(err, name)
	}
	var reg registration
	if err := json.Unmarshal(st.Template, &reg); err != nil {
		return nil, fmt.Errorf("stack %s: stored template is not readable: %w", name, err)
	}
	prog, err := a.registeredProgram(name, st.Source)
	if err != nil {
		return nil, err
	}
	got, err := a.validateProgram(ctx, prog)
	if err != nil {
		return nil, err
	}
	v := compareValidation(name, reg.Template, got)
	if got.Note != "" {
		v.Warnings = append(v.Warnings, StackFinding{Kind: "program", Name: name, Message: got.Note})
	}
	if strict {
		v.Errors = append(v.Errors, v.Warnings...)
		v.Warnings = []StackFinding{}
	}
	return v, nil
}

// ValidateAllStacks validates every registered stack, in name order. A
// stack whose program cannot be run is reported as an error of that stack,
// so one missing binary does not hide the others' findings.
func (a *App) ValidateAllStacks(ctx context.Context, strict bool) ([]StackValidation, error) {
	if err := authorize(ctx, accessPreview, "validate stacks (it runs their programs)", nil); err != nil {
		return nil, err
	}
	ts, err := a.db.StackTemplates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]StackValidation, 0, len(ts))
	for _, t := range ts {
		v, err := a.ValidateStack(ctx, t.Name, strict)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			v = &StackValidation{Stack: t.Name, Warnings: []StackFinding{},
				Errors: []StackFinding{{Kind: "program", Name: t.Name, Message: err.Error()}}}
		}
		out = append(out, *v)
	}
	return out, nil
}

// registeredProgram finds the program a stack was registered from: its
// recorded path when that is a stack binary of its own, else by name (the
// built-in examples live inside the cloud binary, whose path alone does not
// say which program to run).
func (a *App) registeredProgram(name, source string) (runner.Program, error) {
	if source != "" && source != a.cfg.Self {
		find := a.locator.FindPath
		if project.IsProject(source) {
			find = a.locator.FindProject
		}
		if prog, err := find(source); err == nil {
			prog.Name = name
			return prog, nil
		}
	}
	prog, err := a.locator.Find(name)
	if err != nil {
		return prog, fmt.Errorf("stack %s: %w", name, err)
	}
	return prog, nil
}

// validateProgram sends the "validate" request to a program. It is done
// here rather than in engine/runner because it needs neither Pulumi nor the
// runner's cancellation and event handling: one process, one JSON answer.
func (a *App) validateProgram(ctx context.Context, prog runner.Program) (protocol.Validation, error) {
	var v protocol.Validation
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog.Path, append(append([]string{}, prog.Args...), protocol.Validate)...)
	cmd.Env = append(os.Environ(), a.describeClient().Env...)
	cmd.Stdin = strings.NewReader("{}")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	// The Validation is the last JSON line; a program may print before it,
	// and it exits 1 when the program failed, with the Validation saying why.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if err := json.Unmarshal([]byte(last), &v); err != nil || !strings.HasPrefix(last, "{") {
		msg := strings.TrimSpace(stderr.String())
		if runErr != nil {
			return v, fmt.Errorf("validate %s: %w: %s", prog.Name, runErr, msg)
		}
		return v, fmt.Errorf("validate %s: no validation result (does the program support the validate request? rebuild it with the current stacks/kit): %s",
			prog.Name, msg)
	}
	return v, nil
}

// compareValidation turns what the program did into findings against its
// template. Findings are sorted by kind and name so output is stable.
func compareValidation(stack string, t protocol.Template, got protocol.Validation) *StackValidation {
	v := &StackValidation{Stack: stack, Errors: []StackFinding{}, Warnings: []StackFinding{}}
	errorf := func(kind, name, format string, args ...any) {
		v.Errors = append(v.Errors, StackFinding{Kind: kind, Name: name, Message: fmt.Sprintf(format, args...)})
	}
	warnf := func(kind, name, format string, args ...any) {
		v.Warnings = append(v.Warnings, StackFinding{Kind: kind, Name: name, Message: fmt.Sprintf(format, args...)})
	}
	if got.Error != "" {
		errorf("program", stack, "the program failed with sample inputs: %s", got.Error)
	}
	read := map[string]bool{}
	for _, name := range got.InputsRead {
		read[name] = true
		if _, ok := t.Inputs[name]; !ok && !t.AnyInputs {
			errorf("input", name, "input %q is read but not declared", name)
		}
	}
	for _, name := range sortedKeys(t.Inputs) {
		if !read[name] {
			warnf("input", name, "input %q is declared but never read", name)
		}
	}
	for _, name := range sortedKeys(t.Outputs) {
		decl := t.Outputs[name]
		if decl.Recorded {
			// What a deploy exported is the truth about it; a program not
			// run here cannot be held to it.
			continue
		}
		out, ok := got.Outputs[name]
		if !ok {
			// A failed program exports nothing after the failure: the
			// program error is the finding, not every missing output.
			if got.Error == "" {
				errorf("output", name, "output %q is declared but not exported", name)
			}
			continue
		}
		if out.Type != decl.Type {
			warnf("output", name, "output %q is declared %s but exported as %s", name, decl.Type, out.Type)
		}
		if out.Secret != decl.Secret {
			if decl.Secret {
				warnf("output", name, "output %q is declared secret but exported in clear", name)
			} else {
				warnf("output", name, "output %q is exported as a secret but not declared secret", name)
			}
		}
	}
	if !t.AnyInputs {
		for _, name := range sortedKeys(got.Outputs) {
			if _, ok := t.Outputs[name]; !ok {
				warnf("output", name, "output %q is exported but not declared", name)
			}
		}
	}
	sortFindings(v.Errors)
	sortFindings(v.Warnings)
	return v
}

func sortFindings(fs []StackFinding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Kind != fs[j].Kind {
			return fs[i].Kind < fs[j].Kind
		}
		return fs[i].Name < fs[j].Name
	})
}

// describeClient is the runner client for describe and validate requests,
// which do not need the Pulumi CLI: without one, a zero client still runs
// them, so registering works on a machine without Pulumi.
func (a *App) describeClient() *runner.Client {
	if c, err := a.runnerClient(); err == nil {
		return c
	}
	return &runner.Client{}
}

func (a *App) registration(ctx context.Context, name string) (*registration, error) {
	st, err := a.db.StackTemplate(ctx, name)
	if err != nil {
		return nil, stackNotFound(err, name)
	}
	var reg registration
	if err := json.Unmarshal(st.Template, &reg); err != nil {
		return nil, fmt.Errorf("stack %s: stored template is not readable: %w", name, err)
	}
	return &reg, nil
}

func (a *App) putRegistration(ctx context.Context, name string, reg registration, source, hash string) error {
	body, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	return a.db.PutStackTemplate(ctx, store.StackTemplate{Name: name, Description: reg.Description,
		Template: body, Source: source, ProgramHash: hash})
}

func stackInfos(ts []store.StackTemplate) ([]StackInfo, error) {
	out := make([]StackInfo, 0, len(ts))
	for _, t := range ts {
		info, err := stackInfo(t)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func stackInfo(t store.StackTemplate) (StackInfo, error) {
	var reg registration
	if err := json.Unmarshal(t.Template, &reg); err != nil {
		return StackInfo{}, fmt.Errorf("stack %s: stored template is not readable: %w", t.Name, err)
	}
	if reg.Name == "" {
		reg.Name = t.Name
	}
	kind := "program"
	if reg.Project != nil {
		kind = "project"
	}
	return StackInfo{Template: reg.Template, Kind: kind, Priority: reg.Priority, Source: t.Source,
		ProgramHash: t.ProgramHash, Version: t.Version, RegisteredAt: t.RegisteredAt}, nil
}

func stackNotFound(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("stack %s is not registered: %w", name, ErrNotFound)
	}
	return err
}

// cleanNames trims names and drops empty ones, so "--dependencies a, b,"
// means [a b] and "--dependencies ”" means none.
func cleanNames(names []string) []string {
	out := []string{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
