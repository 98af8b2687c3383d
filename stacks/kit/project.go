package kit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudplatform/cloud/stacks/project"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// ServeProject answers the runner protocol for an existing Pulumi project
// directory: "describe" prints the template read from its Pulumi.yaml,
// "validate" what can be checked without running it, and "run" performs
// the request through the Automation API's local workspace with the
// project's own runtime. The project directory is never written: the run
// works from the request's workspace directory (see
// project.WriteWorkspace). ctx ends the run cleanly; it handles no
// signals itself, because cloud serves it in its own process (see
// runner.Program.Serve), where signals are cloud's: `cloud project-runner`
// passes a context its signal handler ends. env is added to the Pulumi
// CLI's environment (KEY=value entries: the secrets passphrase, which a
// runner process would have in its own environment).
func ServeProject(parent context.Context, dir string, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: project-runner DIR describe|validate|run")
		return 2
	}
	p, err := project.Load(dir)
	if err != nil && args[0] != "run" {
		fmt.Fprintln(stderr, err)
		return 2
	}
	enc := json.NewEncoder(stdout)
	switch args[0] {
	case "describe":
		enc.SetIndent("", "  ")
		if err := enc.Encode(p.Template()); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case protocol.Validate:
		v := p.Validation()
		if err := enc.Encode(v); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if v.Error != "" {
			return 1
		}
		return 0
	case "run":
		return serveRun(parent, stdin, stdout, stderr, func(ctx context.Context, req protocol.Request, w *writer) *protocol.Result {
			if err != nil {
				return &protocol.Result{Error: err.Error()}
			}
			return runProject(ctx, p, req, env, w)
		})
	default:
		fmt.Fprintf(stderr, "unknown request %q: want describe, validate or run\n", args[0])
		return 2
	}
}

// ProjectStackName is the Pulumi stack a project stack runs as: the
// deployment's project name and the stack's own name in one, so that two
// deployments or two environments using the same project never share a
// Pulumi stack, and its name says whose it is (D1BRV40-acme-shop-web-dev).
func ProjectStackName(req protocol.Request) string { return req.Project + "-" + req.Stack }

// runProject performs a run request on a project: the Pulumi project is
// the user's (its name is the config namespace the program reads), the
// stack is named by ProjectStackName.
func runProject(ctx context.Context, p *project.Project, req protocol.Request, env []string, w *writer) *protocol.Result {
	res := &protocol.Result{}
	req.Stack = ProjectStackName(req)
	req.Project = p.Name()
	if err := prepare(ctx, req, w); err != nil {
		res.Error = err.Error()
		return res
	}
	opts, c, err := workspaceOptions(req, env)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if _, err := project.LanguageHost(p.Runtime(), c.command, req.PulumiHome); err != nil {
		res.Error = err.Error()
		return res
	}
	if err := p.WriteWorkspace(req.WorkDir, localProviderPlugins(c)); err != nil {
		res.Error = err.Error()
		return res
	}
	if err := runProjectOperation(ctx, p, req, opts, c, w, res); err != nil {
		res.Error = cleanError(ctx, err, req.PulumiHome)
		if died, ok := engineDied(ctx, err); ok {
			res.Error, res.Interrupted = died, true
		}
		return res
	}
	res.OutputsExported = slices.Sorted(maps.Keys(res.Outputs))
	return res
}

// runProjectOperation opens the project's stack in the workspace, sets its
// config and performs the request's operation. An up is run by upProject;
// when the workspace already holds the stack's settings (it ran before)
// the up skips `pulumi stack select`, every command naming the stack.
func runProjectOperation(ctx context.Context, p *project.Project, req protocol.Request, opts []auto.LocalWorkspaceOption,
	c *cli, w *writer, res *protocol.Result) error {
	ws, err := auto.NewLocalWorkspace(ctx, opts...)
	if err != nil {
		return fmt.Errorf("open workspace: %w", err)
	}
	settingsFile := filepath.Join(req.WorkDir, "Pulumi."+req.Stack+".yaml")
	if _, err := os.Stat(settingsFile); req.Operation == protocol.Up && err == nil {
		if err := setProjectConfig(ctx, p, req, ws); err != nil {
			return err
		}
		err := upProject(ctx, ws, c, req, w, res)
		if err == nil || !strings.Contains(err.Error(), "no stack named") {
			return err
		}
		// The backend lost the stack the workspace remembers (a backend
		// reset, or the workspace copied): create it again below.
		*res = protocol.Result{}
	}
	stack, err := auto.UpsertStack(ctx, req.Stack, ws)
	if err != nil {
		return fmt.Errorf("select stack %s: %w", req.Stack, err)
	}
	if err := setProjectConfig(ctx, p, req, ws); err != nil {
		return err
	}
	if req.Operation == protocol.Up {
		return upProject(ctx, ws, c, req, w, res)
	}
	return operate(ctx, stack, req, w, res)
}

// setProjectConfig sets the stack's whole config: the manifest's values in
// the project's namespace (secrets as secrets), where the stack runs under
// "cloud:", and the environment's region as aws:region unless the project
// fixes one. Keys an earlier run set and this one does not are gone.
func setProjectConfig(ctx context.Context, p *project.Project, req protocol.Request, ws auto.Workspace) error {
	settings, err := ws.StackSettings(ctx, req.Stack)
	if err != nil {
		// A workspace deleted since the stack was created: the state
		// keeps the secrets provider's settings.
		settings = &workspace.ProjectStack{}
	}
	plain := config.Map{}
	secrets := auto.ConfigMap{}
	for name, v := range req.Config {
		key := config.MustMakeKey(p.Name(), name)
		text, object, err := configText(v.Value)
		if err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		switch {
		case v.Value == nil:
		case v.Secret:
			secrets[key.String()] = auto.ConfigValue{Value: text, Secret: true}
		case object:
			plain[key] = config.NewObjectValue(text)
		default:
			plain[key] = config.NewValue(text)
		}
	}
	// Pulumi wants every secret key encrypted in the stack's config, even
	// one left to its project default: the default goes in as a secret.
	for name, in := range p.Template().Inputs {
		if _, given := req.Config[name]; !given && in.Secret && in.Default != nil {
			text, _, err := configText(in.Default)
			if err != nil {
				return fmt.Errorf("config %s: %w", name, err)
			}
			secrets[config.MustMakeKey(p.Name(), name).String()] = auto.ConfigValue{Value: text, Secret: true}
		}
	}
	c := req.Context
	for name, v := range map[string]string{
		"deploymentId": c.DeploymentID, "organization": c.Organization, "project": c.Project,
		"environment": c.Environment, "region": c.Region, "accountId": c.AccountID, "stack": c.Stack, "domain": c.Domain,
	} {
		if v != "" {
			plain[config.MustMakeKey("cloud", name)] = config.NewValue(v)
		}
	}
	if _, fixed := p.Pulumi.Config["aws:region"]; !fixed && c.Region != "" {
		plain[config.MustMakeKey("aws", "region")] = config.NewValue(c.Region)
	}
	settings.Config = plain
	if err := ws.SaveStackSettings(ctx, req.Stack, settings); err != nil {
		return err
	}
	if len(secrets) > 0 {
		// The CLI encrypts them with the stack's secrets provider.
		if err := ws.SetAllConfig(ctx, req.Stack, secrets); err != nil {
			return fmt.Errorf("set secret config: %w", err)
		}
	}
	return nil
}

// configText is how Pulumi config holds a value: text for scalars (whole
// numbers without a fraction), JSON for lists and maps.
func configText(v any) (text string, object bool, err error) {
	switch x := v.(type) {
	case string:
		return x, false, nil
	case bool:
		return strconv.FormatBool(x), false, nil
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10), false, nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), false, nil
	case int:
		return strconv.Itoa(x), false, nil
	case int64:
		return strconv.FormatInt(x, 10), false, nil
	case nil:
		return "", false, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}
