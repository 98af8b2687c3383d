package kit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// cli is the Pulumi CLI as the Automation API runs it, minus the
// `pulumi version` that auto.NewPulumiCommand runs on every workspace (a
// tenth of a second, once per stack operation): the version is read once
// per CLI binary and cached by its path, size and modification time.
type cli struct {
	command string
	version semver.Version
}

// cliVersionFile caches the version of the last Pulumi CLI a runner used.
const cliVersionFile = "cloud-cli-version.json"

type cachedVersion struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"modTime"`
	Version string `json:"version"`
}

// newCLI finds the request's Pulumi CLI (or pulumi on PATH) and its
// version, from the cache in cacheDir when the binary has not changed.
func newCLI(command, cacheDir string) (*cli, error) {
	if command == "" {
		command = "pulumi"
	}
	path, err := exec.LookPath(command)
	if err != nil {
		return nil, fmt.Errorf("find the Pulumi CLI: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("find the Pulumi CLI: %w", err)
	}
	key := cachedVersion{Path: path, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	cacheFile := ""
	if cacheDir != "" {
		cacheFile = filepath.Join(cacheDir, cliVersionFile)
		var c cachedVersion
		if b, err := os.ReadFile(cacheFile); err == nil && json.Unmarshal(b, &c) == nil {
			if v, err := semver.ParseTolerant(c.Version); err == nil && c.Path == key.Path && c.Size == key.Size && c.ModTime == key.ModTime {
				return &cli{command: path, version: v}, nil
			}
		}
	}
	// auto.NewPulumiCommand runs `pulumi version` and refuses a CLI too old
	// for this SDK; its Root is the directory above bin/.
	var p auto.PulumiCommand
	if filepath.Base(filepath.Dir(path)) == "bin" {
		p, err = auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(filepath.Dir(path))})
	} else {
		p, err = auto.NewPulumiCommand(nil)
	}
	if err != nil {
		return nil, err
	}
	c := &cli{command: path, version: p.Version()}
	if cacheFile != "" {
		key.Version = c.version.String()
		if b, err := json.Marshal(key); err == nil && os.MkdirAll(cacheDir, 0o700) == nil {
			// Runners of one deploy start together: write whole or not at all.
			tmp := fmt.Sprintf("%s.%d.tmp", cacheFile, os.Getpid())
			if os.WriteFile(tmp, b, 0o600) == nil {
				_ = os.Rename(tmp, cacheFile)
			}
		}
	}
	return c, nil
}

// dir is the directory the CLI is in.
func (c *cli) dir() string { return filepath.Dir(c.command) }

// lastPath is the PATH an environment list sets (the last entry wins).
func lastPath(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v
		}
	}
	return ""
}

// Version is the CLI's version.
func (c *cli) Version() semver.Version { return c.version }

// Run runs the CLI as the Automation API's own PulumiCommand does: never
// interactive, PULUMI_AUTOMATION_API set, interrupted (not killed) when the
// context ends so the engine can write its checkpoint and release its lock.
func (c *cli) Run(ctx context.Context, workdir string, stdin io.Reader, additionalOutput, additionalErrorOutput []io.Writer,
	additionalEnv []string, args ...string) (string, string, int, error) {
	flags := args
	if i := slices.Index(args, "--"); i >= 0 {
		flags = args[:i]
	}
	if !slices.Contains(flags, "--non-interactive") {
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.CommandContext(ctx, c.command, args...)
	cmd.Dir = workdir
	// The CLI's own directory first on PATH, as the Automation API does
	// for an absolute CLI: the language hosts and providers built beside
	// it are the ones it finds.
	env := append(os.Environ(), additionalEnv...)
	env = append(env, "PULUMI_AUTOMATION_API=true", "PATH="+c.dir()+string(os.PathListSeparator)+lastPath(env))
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout = io.MultiWriter(append(additionalOutput, &stdout)...)
	cmd.Stderr = io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	cmd.Stdin = stdin
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			_ = cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 10 * time.Second
	interruptOnDeath(cmd)
	err := cmd.Run()
	code := -2
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err == nil {
		code = 0
	}
	return stdout.String(), stderr.String(), code, err
}
