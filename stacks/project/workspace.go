package project

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// pathOptions are runtime options that name a path relative to the project
// directory; in cloud's workspace they must name the same place.
var pathOptions = []string{"virtualenv", "binary"}

// WriteWorkspace writes the project file cloud runs the project from into
// workDir: the user's project with its main pointing at the user's program
// directory, so the language host runs the program where it is while the
// Automation API writes stack settings into workDir, never into the
// project. The manifest decides the backend and the config, so the
// project's backend and stackConfigDir are left out. providers are plugins
// the engine should take from a path (cloud's own).
func (p *Project) WriteWorkspace(workDir string, providers []workspace.PluginOptions) error {
	proj := *p.Pulumi
	proj.Main = p.ProgramDir()
	if p.Pulumi.Main != "" && !filepath.IsAbs(p.Pulumi.Main) {
		if fi, err := os.Stat(filepath.Join(p.Dir, p.Pulumi.Main)); err == nil && !fi.IsDir() {
			proj.Main = filepath.Join(p.Dir, p.Pulumi.Main) // a main file, not a directory
		}
	}
	proj.Backend = nil
	proj.StackConfigDir = ""
	opts := map[string]any{}
	for k, v := range p.Pulumi.Runtime.Options() {
		opts[k] = v
	}
	for _, k := range pathOptions {
		if s, ok := opts[k].(string); ok && s != "" && !filepath.IsAbs(s) {
			opts[k] = filepath.Join(p.Dir, s)
		}
	}
	proj.Runtime = workspace.NewProjectRuntimeInfo(p.Runtime(), opts)
	if len(providers) > 0 {
		plugins := workspace.Plugins{}
		if p.Pulumi.Plugins != nil {
			plugins = *p.Pulumi.Plugins
		}
		plugins.Providers = append(append([]workspace.PluginOptions{}, plugins.Providers...), providers...)
		proj.Plugins = &plugins
	}
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	// Save writes through a temporary file, so a run that dies here leaves
	// the previous project file whole.
	tmp := filepath.Join(workDir, ".Pulumi.tmp.yaml")
	if err := proj.Save(tmp); err != nil {
		return fmt.Errorf("write workspace project: %w", err)
	}
	return os.Rename(tmp, filepath.Join(workDir, "Pulumi.yaml"))
}

// LanguageHost finds the language host of a runtime: pulumi-language-NAME
// next to the Pulumi CLI, on PATH, or installed as a plugin under
// pulumiHome. The error says which runtime is missing and how to get it.
func LanguageHost(runtime, pulumiCLI, pulumiHome string) (string, error) {
	name := "pulumi-language-" + runtime
	if pulumiCLI != "" {
		p := filepath.Join(filepath.Dir(pulumiCLI), name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	// Only the PULUMI_HOME cloud runs the engine with: a plugin installed
	// under another home (~/.pulumi) is not one the engine would find.
	if pulumiHome != "" {
		found, _ := filepath.Glob(filepath.Join(pulumiHome, "plugins", "language-"+runtime+"-v*", name))
		sort.Strings(found)
		if len(found) > 0 {
			return found[len(found)-1], nil
		}
	}
	install := "pulumi plugin install language " + runtime
	if pulumiHome != "" {
		install = "PULUMI_HOME=" + pulumiHome + " " + install
	}
	hint := fmt.Sprintf("put it next to the Pulumi CLI or on PATH (an official Pulumi install ships the Node.js, Python, Go and YAML hosts next to the CLI), or install it with `%s`", install)
	if runtime == "yaml" {
		hint = fmt.Sprintf("build it with tools/install/pulumi.sh (it goes next to the Pulumi CLI in .tools/bin), or install it with `%s`", install)
	}
	return "", fmt.Errorf("the Pulumi %s language host (%s) is not installed, and this project's runtime needs it: %s", runtime, name, hint)
}
