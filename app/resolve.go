package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cloudplatform/cloud/engine/placeholder"
	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/stacks/protocol"
)

// resolveConfig resolves a stack's config for the run's environment,
// looking outputs up with lookup. A value is secret when a referenced output
// is, or when the program declares the input secret. mocked lists the keys
// whose value came from mock outputs (previews only).
func (r *run) resolveConfig(name string, lookup func(stack, output string) (placeholder.Value, bool)) (cfgOut map[string]protocol.Value, mocked []string, err error) {
	cfg := r.plan.Config[name]
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pc := &placeholder.Context{
		DeploymentID: r.dep.ID, Domain: r.man.Domain, Organization: r.man.Organization, Project: r.man.Project,
		EnvName: r.env.Name, Region: r.env.Region, AccountID: r.env.AccountID,
		Output: lookup, Now: r.app.cfg.Now,
	}
	tmpl, _ := r.template(name)
	out := make(map[string]protocol.Value, len(cfg))
	for _, k := range keys {
		v, secret, mock, err := placeholder.Resolve(cfg[k], pc)
		if err != nil {
			return nil, nil, fmt.Errorf("stack %s: config.%s: %w", name, k, err)
		}
		if mock {
			mocked = append(mocked, k)
		}
		if tmpl.Inputs[k].Secret {
			secret = true
		}
		out[k] = protocol.Value{Value: v, Secret: secret}
	}
	return out, mocked, nil
}

// mockValue stands in for an output of a stack that has not been deployed,
// during a preview: a value of the declared type, marked as a mock.
func mockValue(stack, output string, t protocol.Template) placeholder.Value {
	decl := t.Outputs[output]
	label := fmt.Sprintf("mock:%s.%s", stack, output)
	var v any
	switch decl.Type {
	case protocol.TypeNumber:
		v = 0.0
	case protocol.TypeBoolean:
		v = false
	case protocol.TypeArray:
		v = []any{label + "[0]"}
	case protocol.TypeObject:
		v = map[string]any{}
	default:
		v = label
	}
	return placeholder.Value{Value: v, Secret: decl.Secret, Mock: true}
}

// configHash identifies everything that decides what a deploy of the stack
// does: the program, the resolved config — which holds every upstream output
// the stack references — and where it goes. Smart skip compares it with the
// hash of the last successful deploy, so a stack re-runs when an output it
// consumes changes, and not when an upstream output it ignores does.
func (r *run) configHash(prog runner.Program, cfg map[string]protocol.Value) string {
	body, _ := json.Marshal(map[string]any{
		"program": prog.Identity,
		"config":  cfg,
		"env":     []string{r.env.Name, r.env.Region, r.env.AccountID},
		"backend": r.app.backendURL(r.man.Backend),
		"project": r.man.Organization + "/" + r.man.Project,
	})
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}
