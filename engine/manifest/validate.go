package manifest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudplatform/cloud/engine/placeholder"
)

var (
	namePattern      = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
)

// Validate checks the rules that do not depend on the target environment:
// required fields, name and ID formats, dependencies on known stacks other
// than the stack itself, per-stack overrides of declared environments only,
// and placeholder syntax in config. Disabled dependencies and cycles depend
// on the environment and are left to the planner.
//
// The error is an ErrorList.
func (m *Manifest) Validate() error {
	var errs ErrorList
	add := func(field, hint, format string, args ...any) {
		e := m.Errorf(field, format, args...)
		e.Hint = hint
		errs = append(errs, e)
	}
	switch {
	case m.DeploymentID == "":
		add("deployment_id", "", "is required")
	case !ValidDeploymentID(m.DeploymentID):
		add("deployment_id", "", "%q is not a deployment ID (want D and 6 characters A-Z or 0-9, e.g. D1BRV40)", m.DeploymentID)
	}
	if m.Organization == "" {
		add("organization", "", "is required")
	}
	if m.Project == "" {
		add("project", "", "is required")
	}

	envs := m.EnvironmentNames()
	seenEnv := map[string]bool{}
	for _, e := range m.Environments {
		field := "environments." + e.Name
		if seenEnv[e.Name] {
			add(field, "", "environment %q is declared twice", e.Name)
		}
		seenEnv[e.Name] = true
		if !namePattern.MatchString(e.Name) {
			add(field, "", "environment name %q must be lower-case letters, digits and '-', starting with a letter", e.Name)
		}
		if e.AccountID != "" && !accountIDPattern.MatchString(e.AccountID) {
			add(field+".account_id", "", "account ID %q must be exactly 12 digits", e.AccountID)
		}
	}

	if len(m.Stacks) == 0 {
		add("stacks", "", "at least one stack is required")
	}
	stacks := m.StackNames()
	seenStack := make(map[string]bool, len(m.Stacks))
	for _, s := range m.Stacks {
		seenStack[s.Name] = true
	}
	dupStack := map[string]bool{}
	for _, s := range m.Stacks {
		path := "stacks." + s.Name
		if dupStack[s.Name] {
			add(path, "", "stack %q is declared twice", s.Name)
		}
		dupStack[s.Name] = true
		if !namePattern.MatchString(s.Name) {
			add(path, "", "stack name %q must be lower-case letters, digits and '-', starting with a letter", s.Name)
		}
		switch {
		case s.Program == "":
			add(path+".program", "", "must not be empty")
		case strings.ContainsAny(s.Program, `/\`):
			// A manifest is stored and synced to machines whose checkouts
			// live elsewhere: a path would name different things on each.
			add(path+".program", "", "%q is a path, but program names a registered stack: register the directory with `cloud register-stack %s` and use the name it prints", s.Program, s.Program)
		}
		if s.Layer != nil && *s.Layer < 0 {
			add(path+".layer", "", "must not be negative")
		}
		seenDep := map[string]bool{}
		for i, dep := range s.Dependencies {
			field := path + ".dependencies[" + strconv.Itoa(i) + "]"
			switch {
			case dep == s.Name:
				add(field, "", "stack %q depends on itself", s.Name)
			case !seenStack[dep]:
				add(field, Suggest(dep, stacks), "stack %q depends on unknown stack %q", s.Name, dep)
			case seenDep[dep]:
				add(field, "", "duplicate dependency %q", dep)
			}
			seenDep[dep] = true
		}
		errs = append(errs, m.checkPlaceholders(s, path+".config", s.Config, seenStack)...)
		for _, env := range sortedKeys(s.Environments) {
			field := path + ".environments." + env
			if !seenEnv[env] {
				add(field, Suggest(env, envs), "environment %q is not declared", env)
			}
			if o := s.Environments[env]; o != nil {
				errs = append(errs, m.checkPlaceholders(s, field+".config", o.Config, seenStack)...)
			}
		}
	}
	return errs.Err()
}

// checkPlaceholders reports placeholder syntax errors and output references
// to unknown stacks (or to the stack itself) in config, read at base.
func (m *Manifest) checkPlaceholders(s *Stack, base string, config map[string]any, stacks map[string]bool) ErrorList {
	var errs ErrorList
	placeholder.Walk(config, func(path, str string) error {
		field := placeholder.JoinPath(base, path)
		segs, err := placeholder.Parse(str)
		if err != nil {
			e := m.Errorf(field, "%v", err)
			e.Err = err
			errs = append(errs, e)
			return nil
		}
		for _, seg := range segs {
			switch r := seg.Ref; {
			case r == nil || r.Kind != placeholder.KindOutput:
			case r.Stack == s.Name:
				errs = append(errs, m.Errorf(field, "stack %q references its own output in %s", s.Name, r.Raw))
			case !stacks[r.Stack]:
				errs = append(errs, m.unknownStackError(s, field, r))
			}
		}
		return nil
	})
	return errs
}

// unknownStackError reports a reference to a stack that does not exist,
// with a hint naming the closest stack or, when the name is closer to a
// namespace (${evn.region}), the reference respelled with it.
func (m *Manifest) unknownStackError(s *Stack, field string, r *placeholder.Ref) *Error {
	names := m.StackNames()
	candidates := names
	if !r.ExplicitStack() {
		candidates = append(slices.Clone(names), placeholder.Namespaces()...)
	}
	best, ok := closest(r.Stack, candidates)
	if ok && !slices.Contains(names, best) {
		e := m.Errorf(field, "stack %q references %s, but %q is neither a stack nor a namespace", s.Name, r.Raw, r.Stack)
		e.Hint = fmt.Sprintf("did you mean %q?", strings.Replace(r.Raw, r.Stack+".", best+".", 1))
		return e
	}
	e := m.Errorf(field, "stack %q references unknown stack %q in %s", s.Name, r.Stack, r.Raw)
	if ok {
		e.Hint = fmt.Sprintf("did you mean %q?", best)
	}
	return e
}
