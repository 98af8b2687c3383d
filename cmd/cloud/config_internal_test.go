package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

// cloud config and its subcommands tested as the others are: argv →
// options through runF, and options → output with buffers against a real
// store.

func TestConfigCommands_Options(t *testing.T) {
	e := &env{}
	noDeps := func(o *configOptions) bool { ok := o.App != nil; o.App = nil; return ok }
	checkOptions(t, "config", func(f func(context.Context, *configOptions) error) *cli.Command {
		return configCommand(e, f)
	}, noDeps, []optionsCase[configOptions]{
		{[]string{"D1BRV40"}, &configOptions{ID: "D1BRV40"}},
		{[]string{"D1BRV40", "--revision", "2"}, &configOptions{ID: "D1BRV40", Revision: 2}},
		{[]string{"D1BRV40", "-f", "m.yaml"}, &configOptions{ID: "D1BRV40", File: "m.yaml"}},
		{[]string{"D1BRV40", "--revision", "-1"}, nil},
		{[]string{"D1BRV40", "--revision", "2", "-f", "m.yaml"}, nil},
		{[]string{}, nil},
		{[]string{"D1", "D2"}, nil},
	})
	setDeps := func(o *configSetOptions) bool { ok := o.App != nil; o.App = nil; return ok }
	checkOptions(t, "config set", func(f func(context.Context, *configSetOptions) error) *cli.Command {
		return configSetCommand(e, f)
	}, setDeps, []optionsCase[configSetOptions]{
		{[]string{"D1BRV40", "stacks.app.config.replicas", "3"}, &configSetOptions{ID: "D1BRV40", Key: "stacks.app.config.replicas", Value: "3"}},
		{[]string{"D1BRV40", "stacks.app.config.replicas"}, nil},
		{[]string{"D1BRV40", "k", "v", "extra"}, nil},
	})
	checkOptions(t, "config unset", func(f func(context.Context, *configSetOptions) error) *cli.Command {
		return configUnsetCommand(e, f)
	}, setDeps, []optionsCase[configSetOptions]{
		{[]string{"D1BRV40", "stacks.app.config.replicas"}, &configSetOptions{ID: "D1BRV40", Key: "stacks.app.config.replicas", Unset: true}},
		{[]string{"D1BRV40"}, nil},
		{[]string{"D1BRV40", "k", "v"}, nil},
	})
	t.Setenv("VISUAL", "")
	t.Setenv("EDITOR", "code --wait")
	checkOptions(t, "config edit", func(f func(context.Context, *configEditOptions) error) *cli.Command {
		return configEditCommand(e, f)
	}, func(o *configEditOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[configEditOptions]{
		{[]string{"D1BRV40"}, &configEditOptions{ID: "D1BRV40", Editor: "code --wait"}},
		{[]string{}, nil},
	})
}

// TestConfigRun: the manifest prints as YAML, or as its revision's
// document; set and unset print the change's document and store nothing
// for a typo; the editor is a shell command, arguments and quotes and all.
func TestConfigRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }

	e, out, _ := testEnv(false, "table")
	if err := e.configRun(ctx, &configOptions{App: open, ID: id}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "deployment_id: "+id) || !strings.Contains(out.String(), "domain: shop.example.com") {
		t.Errorf("config prints no manifest:\n%s", out)
	}
	e, out, _ = testEnv(false, "json")
	if err := e.configRun(ctx, &configOptions{App: open, ID: id}); err != nil {
		t.Fatal(err)
	}
	var rev struct {
		DeploymentID string `json:"deploymentId"`
		Revision     int    `json:"revision"`
		YAML         string `json:"yaml"`
	}
	if err := json.Unmarshal(out.Bytes(), &rev); err != nil || rev.DeploymentID != id || rev.Revision != 1 || !strings.Contains(rev.YAML, "deployment_id: "+id) {
		t.Errorf("config -o json is not the revision's document (%v):\n%s", err, out)
	}

	var change struct {
		Deployment struct {
			ID       string `json:"id"`
			Revision int    `json:"revision"`
		} `json:"deployment"`
		Revision int  `json:"revision"`
		Changed  bool `json:"changed"`
	}
	e, out, errb := testEnv(false, "json")
	if err := e.configSetRun(ctx, &configSetOptions{App: open, ID: id, Key: "stacks.app.config.replicas", Value: "3"}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &change); err != nil || change.Revision != 2 || !change.Changed || change.Deployment.ID != id || change.Deployment.Revision != 2 {
		t.Errorf("config set -o json is not the change's document (%v):\n%s", err, out)
	}
	if !strings.Contains(errb.String(), "stacks.app.config.replicas = 3 (revision 2)") {
		t.Errorf("config set tells nothing: %q", errb)
	}
	e, out, _ = testEnv(false, "table")
	err := e.configSetRun(ctx, &configSetOptions{App: open, ID: id, Key: "stacks.ap.config.replicas", Value: "3"})
	if err == nil || !strings.Contains(err.Error(), `"app"`) || out.Len() != 0 {
		t.Errorf("a typo: %v, stdout %q; want a did-you-mean and nothing printed", err, out)
	}
	e, out, _ = testEnv(false, "yaml")
	if err := e.configSetRun(ctx, &configSetOptions{App: open, ID: id, Key: "stacks.app.config.replicas", Unset: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "revision: 3") || !strings.Contains(out.String(), "changed: true") {
		t.Errorf("config unset -o yaml:\n%s", out)
	}

	// The way git runs an editor: quotes and arguments reach the shell.
	e, _, errb = testEnv(false, "table")
	if err := e.configEditRun(ctx, &configEditOptions{App: open, ID: id, Editor: `sed -i 's/shop.example.com/www.example.com/'`}); err != nil {
		t.Fatalf("config edit: %v (%s)", err, errb)
	}
	e, out, _ = testEnv(false, "table")
	if err := e.configRun(ctx, &configOptions{App: open, ID: id}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "domain: www.example.com") || !strings.Contains(errb.String(), "stored revision 4") {
		t.Errorf("the edit is not stored (%s):\n%s", errb, out)
	}
	e, out, _ = testEnv(false, "json")
	if err := e.configRun(ctx, &configOptions{App: open, ID: id, Revision: 1}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &rev); err != nil || rev.Revision != 1 || !strings.Contains(rev.YAML, "domain: shop.example.com") {
		t.Errorf("config --revision 1 -o json (%v):\n%s", err, out)
	}
}
