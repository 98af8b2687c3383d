package main

// The command tree, the global flags, the streams and the one mapping of errors to exit codes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/document"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/stacks/examples"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// streams are the command's I/O: data to Out, status lines to Err.
type streams struct {
	In       io.Reader
	Out, Err io.Writer
	// TTY is set when Err is a terminal: live progress and colour then.
	TTY bool
}

func newStreams() *streams {
	return &streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		TTY: term.IsTerminal(int(os.Stderr.Fd()))}
}

// env is what every command gets: streams, global options, and the app,
// opened on first use.
type env struct {
	io     *streams
	home   string
	output string
	color  bool
	quiet  bool
	yes    bool
	pulumi string
	stacks []string
	// offline keeps sync and the team lock off (--offline).
	offline bool
	// noAutoSync: the command syncs by itself (cloud sync …).
	noAutoSync bool
	// serverURL is the global --server (CLOUD_SERVER): the commands that
	// can run against a `cloud serve` do (clients.go, follow.go); "" is local.
	serverURL string
	// logger is where the core logs: the server's (cloud serve), else
	// warnings and errors on stderr.
	logger *slog.Logger
	app    *app.App
}

func (e *env) open(ctx context.Context) (*app.App, error) {
	if e.app != nil {
		return e.app, nil
	}
	self, _ := os.Executable()
	if e.logger == nil {
		e.logger = slog.New(slog.NewTextHandler(e.io.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.Open(ctx, app.Config{
		Logger:     e.logger,
		Home:       e.home,
		StacksDirs: e.stacks,
		Pulumi:     e.pulumi,
		ToolsDirs:  toolsDirs(self),
		Self:       self,
		Builtin:    examples.Names(),
		// Project stacks run in this process: kit.ServeProject drives the
		// Pulumi CLI, which is the process a project's program runs in.
		ServeProject: kit.ServeProject,
		// The team lock and the sync after a command follow the home's
		// sync configuration; --offline turns both off.
		Offline: e.offline,
		Version: version,
	})
	if err != nil {
		return nil, err
	}
	if err := a.Unwritable(); err != nil {
		fmt.Fprintf(e.io.Err, "warning: the store cannot be written (it is read-only, or the disk is full): %s; reading works, changes fail until it can be written\n",
			strings.TrimPrefix(err.Error(), "store: "))
	}
	e.app = a
	return a, nil
}

// toolsDirs are where a Pulumi CLI built by tools/install/pulumi.sh lives,
// relative to a cloud binary in bin/ of the project (or the project root).
func toolsDirs(self string) []string {
	dir := filepath.Dir(self)
	return []string{
		filepath.Join(dir, "..", ".tools", "bin"),
		filepath.Join(dir, ".tools", "bin"),
	}
}

// defaultStacksDirs are where stack binaries are looked up by name: the
// project's bin/stacks next to the cloud binary, and the home's stacks.
func defaultStacksDirs(self, home string) []string {
	return []string{filepath.Join(filepath.Dir(self), "stacks"), filepath.Join(home, "stacks")}
}

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error to the process exit code, in one place: usage
// errors (bad flags, bad arguments, invalid manifests) are 2, everything
// else that failed is 1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *app.UsageError
	var ve *app.ValidationError
	var me *manifest.Error
	var ml manifest.ErrorList
	var ne *document.NoEnvironmentError
	var ns *document.NoStackError
	var re *client.Error
	switch {
	case errors.As(err, &ue), errors.As(err, &ve), errors.As(err, &me), errors.As(err, &ml), errors.As(err, &ne), errors.As(err, &ns):
		return 2
	case errors.As(err, &re):
		// What the local CLI calls a usage error (bad input, an invalid
		// manifest) the server calls so too.
		switch re.Code() {
		case graph.CodeBadInput, graph.CodeValidation:
			return 2
		}
		return 1
	case errors.Is(err, app.ErrNotFound):
		return 1
	}
	return 1
}

// run runs the CLI with args and returns the exit code.
func run(ctx context.Context, args []string, s *streams) int {
	e := &env{io: s}
	appCLI := newApp(e)
	if len(args) > 1 && args[len(args)-1] == completeFlag && completeObjects(e, appCLI, args) {
		if e.app != nil {
			e.app.Close()
		}
		return 0
	}
	err := appCLI.RunContext(ctx, interspersed(appCLI, args))
	if e.app != nil {
		e.syncAfter(ctx)
		e.app.Close()
	}
	if err != nil {
		var ee *exitError
		switch {
		case errors.As(err, &ee) && ee.err == errSilent:
		case app.IsUnwritable(err):
			fmt.Fprintf(s.Err, "error: the store cannot be written (it is read-only, or the disk is full): %s\n",
				strings.TrimPrefix(err.Error(), "store: "))
		default:
			fmt.Fprintf(s.Err, "error: %v\n", err)
		}
	}
	return exitCode(err)
}

// errSilent marks a failure already reported (a summary was printed).
var errSilent = errors.New("failed")

func newApp(e *env) *cli.App {
	self, _ := os.Executable()
	app := &cli.App{
		Name:                 "cloud",
		Usage:                "deploy multi-stack Pulumi infrastructure, local-first",
		Version:              version,
		EnableBashCompletion: true,
		Writer:               e.io.Out,
		ErrWriter:            e.io.Err,
		ExitErrHandler:       func(*cli.Context, error) {}, // exit codes are decided in run
		Action:               unknownCommand,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "home", Usage: "where cloud keeps its database, Pulumi state and keys", EnvVars: []string{"CLOUD_HOME"}, Value: app.DefaultHome(), DefaultText: "~/.cloud"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output format: table, json or yaml", Value: "table"},
			&cli.BoolFlag{Name: "no-color", Usage: "no colour in output", EnvVars: []string{"NO_COLOR"}},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only results and errors"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.StringFlag{Name: "pulumi", Usage: "path of the Pulumi CLI", EnvVars: []string{"CLOUD_PULUMI"}},
			&cli.StringSliceFlag{Name: "stacks-dir", Usage: "directory of stack binaries (repeatable; default bin/stacks and $CLOUD_HOME/stacks)", EnvVars: []string{"CLOUD_STACKS_DIR"}},
			&cli.BoolFlag{Name: "offline", Usage: "work on the local store only: no sync after the command, no team lock", EnvVars: []string{"CLOUD_OFFLINE"}},
			&cli.StringFlag{Name: "server", Usage: "run against the cloud serve at `URL` instead of the local store (list, status, outputs, history, deploy, deploy-stack, preview, refresh, destroy, destroy-stack, rollback, cancel, monitor; cloud login and cloud logout sign in and out of it)", EnvVars: []string{"CLOUD_SERVER"}},
		},
		Before: func(c *cli.Context) error {
			e.home = c.String("home")
			e.output = c.String("output")
			switch e.output {
			case "table", "json", "yaml":
			default:
				return usageError("--output must be table, json or yaml, not %q", e.output)
			}
			e.color = e.io.TTY && !c.Bool("no-color")
			e.quiet = c.Bool("quiet")
			e.yes = c.Bool("yes")
			e.pulumi = c.String("pulumi")
			e.stacks = c.StringSlice("stacks-dir")
			e.offline = c.Bool("offline")
			if len(e.stacks) == 0 {
				e.stacks = defaultStacksDirs(self, e.home)
			}
			e.serverURL = c.String("server")
			return checkServerFlag(c, e.serverURL)
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError("%v", err)
		},
		Commands: []*cli.Command{
			versionCommand(e),
			initCommand(e, nil),
			configCommand(e, nil),
			deployCommand(e, nil),
			deployStackCommand(e, nil),
			previewCommand(e, nil),
			destroyCommand(e, nil),
			refreshCommand(e, nil),
			destroyStackCommand(e, nil),
			statusCommand(e, nil),
			listCommand(e, nil),
			deleteCommand(e, nil),
			outputsCommand(e, nil),
			historyCommand(e, nil),
			logsCommand(e, nil),
			graphCommand(e, nil),
			cancelCommand(e, nil),
			lockCommand(e, nil),
			unlockCommand(e, nil),
			syncCommand(e, nil),
			rollbackCommand(e, nil),
			enableEnvironmentCommand(e, nil),
			disableEnvironmentCommand(e, nil),
			listEnvironmentsCommand(e, nil),
			completionCommand(e),
			validateCommand(e),
			listTemplatesCommand(e, nil),
			showTemplateCommand(e, nil),
			createTemplateCommand(e, nil),
			updateTemplateCommand(e, nil),
			deleteTemplateCommand(e, nil),
			validateTemplateCommand(e, nil),
			registerStackCommand(e, nil),
			updateStackCommand(e, nil),
			unregisterStackCommand(e, nil),
			listStacksCommand(e, nil),
			validateStackCommand(e, nil),
			serveCommand(e, nil),
			monitorCommand(e, nil),
			loginCommand(e, nil),
			logoutCommand(e, nil),
			stackRunnerCommand(),
			projectRunnerCommand(),
		},
	}
	app.OnUsageError = flagError
	setFlagErrors(app.Commands)
	// Our own copy of the help command, so that its usage starts in lower
	// case like every other command's (urfave/cli adds its own otherwise).
	// urfave/cli then adds no --help flag to the app either.
	app.Commands = append(app.Commands, helpCommand())
	app.Flags = append(app.Flags, cli.HelpFlag)
	return app
}

// helpCommand is urfave/cli's help command (its action is unexported)
// with a usage written like ours.
func helpCommand() *cli.Command {
	probe := &cli.App{Name: "cloud", Writer: io.Discard, ErrWriter: io.Discard}
	probe.Setup()
	h := *probe.Command("help")
	h.Usage = "show the commands, or the help of one command"
	return &h
}

// globalFooter ends every command's help: the global options are only
// in cloud --help, and a command's help should say they exist.
const globalFooter = `
GLOBAL OPTIONS: see cloud --help (--home, --output/-o, --no-color, --quiet/-q, --yes/-y, --pulumi, --stacks-dir, --offline, --server)
`

// flagError makes a flag that does not parse a usage error (exit 2, the
// error on stderr) instead of urfave/cli's default, which prints the
// command's help on stdout, the data stream, and exits 1.
func flagError(c *cli.Context, err error, _ bool) error {
	help := "cloud"
	if c != nil && c.Command != nil && c.Command.HelpName != "" {
		help = c.Command.HelpName
	}
	return usageError("%v (see %s --help)", err, help)
}

func setFlagErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = flagError
		if len(c.Subcommands) == 0 {
			strictArgs(c)
			c.CustomHelpTemplate = cli.CommandHelpTemplate + globalFooter
		} else {
			c.CustomHelpTemplate = cli.SubcommandHelpTemplate + globalFooter
		}
		requiredFlags(c)
		setFlagErrors(c.Subcommands)
		if len(c.Subcommands) > 0 {
			c.Subcommands = append(c.Subcommands, helpCommand())
		}
	}
}

// requiredFlags checks a command's Required flags itself, in its Before:
// urfave/cli's own check prints the command's help on stdout, the data
// stream, and its error exits 1; a missing flag is a usage error.
func requiredFlags(c *cli.Command) {
	var names []string
	for _, f := range c.Flags {
		if rf, ok := f.(cli.RequiredFlag); !ok || !rf.IsRequired() {
			continue
		}
		// Every flag type of urfave/cli has a Required field.
		if v := reflect.ValueOf(f); v.Kind() == reflect.Pointer {
			if r := v.Elem().FieldByName("Required"); r.IsValid() && r.CanSet() {
				r.SetBool(false)
				names = append(names, f.Names()[0])
			}
		}
	}
	if len(names) == 0 {
		return
	}
	before := c.Before
	c.Before = func(ctx *cli.Context) error {
		for _, n := range names {
			if !ctx.IsSet(n) {
				return usageError("%s: flag --%s is required (see %s --help)", c.Name, n, c.HelpName)
			}
		}
		if before != nil {
			return before(ctx)
		}
		return nil
	}
}

// strictArgs refuses more positional arguments than the command's
// ArgsUsage names, so `cloud list extra` or `cloud init DXXXXXX …` is a
// usage error rather than an argument silently ignored.
func strictArgs(c *cli.Command) {
	limit := maxArgs(c.ArgsUsage)
	if limit < 0 {
		return
	}
	before := c.Before
	c.Before = func(ctx *cli.Context) error {
		if n := ctx.NArg(); n > 0 {
			// interspersed leaves a flag that lacks its value last.
			if a := ctx.Args().Get(n - 1); isFlag(a) && (lookup(c.Flags, a) != nil || lookup(ctx.App.Flags, a) != nil) {
				return usageError("flag %s needs a value (see %s --help)", a, c.HelpName)
			}
		}
		if ctx.NArg() > limit {
			extra := ctx.Args().Slice()[limit:]
			if limit == 0 {
				return usageError("%s takes no arguments, got %q (see %s --help)", c.Name, extra, c.HelpName)
			}
			return usageError("%s takes %s, got %d more: %q (see %s --help)", c.Name, c.ArgsUsage, len(extra), extra, c.HelpName)
		}
		if before != nil {
			return before(ctx)
		}
		return nil
	}
}

// maxArgs is how many positional arguments an ArgsUsage allows: one per
// word ("ID [STACK]" is 2, "NAME|PATH|DIR" is 1, "NAME | --all" is 1), -1
// for no limit ("FILE...").
func maxArgs(usage string) int {
	n := 0
	for _, w := range strings.Fields(usage) {
		switch {
		case strings.Contains(w, "..."):
			return -1
		case w == "|" || strings.HasPrefix(w, "-"):
		default:
			n++
		}
	}
	return n
}

// lazyApp opens the app of command c when a run first asks for it:
// parsing the arguments must not open the store.
func (e *env) lazyApp(c *cli.Context) func() (*app.App, error) {
	return func() (*app.App, error) { return e.open(c.Context) }
}

// args checks a command's positional arguments.
func args(c *cli.Context, names ...string) ([]string, error) {
	if c.NArg() != len(names) {
		return nil, usageError("%s: want arguments %v, got %d", c.Command.Name, names, c.NArg())
	}
	return c.Args().Slice(), nil
}
