package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudplatform/cloud/engine/manifest"
	"go.yaml.in/yaml/v3"
)

// stackFields are the keys of a manifest stack that config set and unset
// may name (stacks.STACK.<field>).
var stackFields = []string{"program", "enabled", "layer", "dependencies", "config", "environments"}

// checkConfigKey refuses a config set or unset that would store a typo: a
// stack the manifest does not have (unless the key names its program,
// which adds it), a field a stack has not, or a config key its program
// does not declare — each with a did-you-mean. A value whose type differs
// from the input's is refused too. val is nil for an unset.
func (a *App) checkConfigKey(ctx context.Context, m *manifest.Manifest, parts []string, val *yaml.Node) error {
	if parts[0] != "stacks" || len(parts) < 2 {
		return nil // the manifest's own validation knows the other fields
	}
	key := strings.Join(parts, ".")
	name := parts[1]
	s := m.Stack(name)
	if s == nil {
		if len(parts) == 3 && parts[2] == "program" && val != nil {
			return nil // a new stack, named with its program
		}
		var names []string
		for _, st := range m.Stacks {
			names = append(names, st.Name)
		}
		msg := fmt.Sprintf("%s: deployment %s has no stack %q", key, m.DeploymentID, name)
		if hint := manifest.Suggest(name, names); hint != "" {
			msg += " (" + hint + ")"
		}
		return usagef("%s; add a stack by setting its program first: cloud config set %s stacks.%s.program PROGRAM", msg, m.DeploymentID, name)
	}
	if len(parts) < 3 {
		return nil
	}
	if !slices.Contains(stackFields, parts[2]) {
		msg := fmt.Sprintf("%s: a stack has no field %q", key, parts[2])
		if hint := manifest.Suggest(parts[2], stackFields); hint != "" {
			msg += " (" + hint + ")"
		}
		return usagef("%s; its fields are %s", msg, strings.Join(stackFields, ", "))
	}
	var input string
	switch {
	case parts[2] == "config" && len(parts) == 4:
		input = parts[3]
	case parts[2] == "environments" && len(parts) == 6 && parts[4] == "config":
		input = parts[5]
		if m.Environment(parts[3]) == nil {
			return fmt.Errorf("%s: %w", key, noEnvironment(m, parts[3]))
		}
	default:
		return nil
	}
	t, err := a.templateLookup(ctx)(s.Program)
	if err != nil {
		// The program is not here to ask: validation and the deploy will
		// say so; the key cannot be checked.
		return nil
	}
	in, ok := t.Inputs[input]
	if !ok {
		if t.AnyInputs {
			return nil
		}
		msg := fmt.Sprintf("%s: program %s has no input %q", key, s.Program, input)
		if hint := manifest.Suggest(input, sortedKeys(t.Inputs)); hint != "" {
			msg += " (" + hint + ")"
		}
		return usagef("%s; its inputs are %s", msg, strings.Join(sortedKeys(t.Inputs), ", "))
	}
	if val == nil || in.Type == "" {
		return nil
	}
	var v any
	if err := val.Decode(&v); err != nil {
		return nil
	}
	if text, isText := v.(string); isText && strings.Contains(text, "${") {
		return nil // placeholders: validate deployment checks what they resolve to
	}
	if got := typeOf(v); got != "" && got != in.Type {
		msg := fmt.Sprintf("%s: input %q of program %s is a %s, but %s is a %s", key, input, s.Program, in.Type, val.Value, got)
		if in.Type == "string" {
			msg += fmt.Sprintf(" (quote it to make it a string: '\"%s\"')", val.Value)
		}
		return usagef("%s", msg)
	}
	return nil
}

// UnsetConfig removes one value of a deployment's manifest (a key of the
// same dotted form as SetConfig's) and stores the result as a new
// revision. Removing a key the manifest does not have is an error.
func (a *App) UnsetConfig(ctx context.Context, id, key string) (int, error) {
	if err := authorize(ctx, accessAdmin, "change the configuration of "+id, nil); err != nil {
		return 0, err
	}
	parts := strings.Split(key, ".")
	if slices.Contains(parts, "") {
		return 0, usagef("bad key %q", key)
	}
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return 0, err
	}
	if err := a.checkConfigKey(ctx, m, parts, nil); err != nil {
		return 0, err
	}
	found := false
	rev, err := a.editManifest(ctx, id, "config unset "+key, func(root *yaml.Node) { found = deletePath(root, parts) })
	if err == nil && !found {
		return 0, usagef("%s is not set in the manifest of %s", key, id)
	}
	return rev, err
}

// deletePath removes a key from a YAML mapping, keeping the rest of the
// document; it reports whether the key was there.
func deletePath(n *yaml.Node, path []string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return true
		}
		return deletePath(n.Content[i+1], path[1:])
	}
	return false
}
