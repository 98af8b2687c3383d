package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloudplatform/cloud/internal/proc"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// writer sends protocol messages as JSON lines; the engine-event goroutine
// and the main goroutine both write, so lines are serialised.
type writer struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newWriter(w io.Writer) *writer { return &writer{enc: json.NewEncoder(w)} }

func (w *writer) send(m protocol.Message) {
	if m.Time.IsZero() {
		m.Time = time.Now().UTC()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.enc.Encode(m)
}

func (w *writer) log(level, format string, args ...any) {
	w.send(protocol.Message{Kind: protocol.KindLog, Log: &protocol.Log{Level: level, Text: fmt.Sprintf(format, args...)}})
}

// run performs the request and returns its result; errors are reported in
// the result, never as a crash, so the orchestrator always gets one.
func run(ctx context.Context, s Stack, req protocol.Request, w *writer) *protocol.Result {
	res := &protocol.Result{}
	if err := prepare(ctx, req, w); err != nil {
		res.Error = err.Error()
		return res
	}

	var in *Inputs
	var out *Outputs
	// The program runs in this process (an inline program), so its own
	// error is at hand: it says more than the engine's transcript.
	var programErr error
	program := func(pctx *pulumi.Context) error {
		in = NewInputs(s.Template, req.Config).WithContext(req.Context).withDone(ctx.Done())
		out = NewOutputs(pctx, s.Template)
		err := s.Program(pctx, in, out)
		if err == nil {
			err = in.Err()
		}
		programErr = err
		return err
	}

	stack, err := openStack(ctx, req, program)
	if checkpointUnsettled(ctx, req, w, err) {
		stack, err = openStack(ctx, req, program)
	}
	if err != nil {
		res.Error = cleanError(ctx, err, req.PulumiHome)
		return res
	}
	err = operate(ctx, stack, req, w, res)
	if in != nil {
		res.InputsRead = in.ReadNames()
	}
	if out != nil {
		res.OutputsExported = out.Names()
	}
	if err != nil {
		res.Error = cleanError(ctx, err, req.PulumiHome)
		if died, ok := engineDied(ctx, err); ok {
			// The program saw its engine go away as "context canceled":
			// the death is the cause.
			res.Error, res.Interrupted = died, true
		} else if programErr != nil && ctx.Err() == nil && !missingPlugin.MatchString(err.Error()) {
			// The program's own error says more than the transcript, unless
			// the engine lacked a provider plugin: a provider function the
			// program called then fails with a bare "context canceled".
			res.Error = explainPlugin(programErr.Error(), req.PulumiHome)
		}
	}
	return res
}

// engineDied says whether err is the Pulumi CLI killed by a signal (not
// by this runner, whose cancellation interrupts it and lets it exit), and
// how.
func engineDied(ctx context.Context, err error) (string, bool) {
	var exit *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &exit) {
		return "", false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() {
		return "", false
	}
	return fmt.Sprintf("the Pulumi engine (pid %d) was killed by signal %d (%v) before it finished: the stack may hold part of the update; the next run clears its lock",
		exit.Pid(), int(status.Signal()), status.Signal()), true
}

// checkpointSettle is how long a run after an interrupted one waits before
// reading the stack's checkpoint again when it could not be read.
const checkpointSettle = 2 * time.Second

// operate performs the request's operation on an opened stack, forwarding
// engine events to w and filling res with outputs, changes and drift. The
// error is the Automation API's; the caller turns it into res.Error.
//
// A run after an interrupted one may find the stack's checkpoint being
// written by the interrupted run's engine as it stops (it is read back
// empty: "failed to load checkpoint: EOF"): it is tried once more when
// that has settled.
func operate(ctx context.Context, stack auto.Stack, req protocol.Request, w *writer, res *protocol.Result) error {
	err := operateOnce(ctx, stack, req, w, res)
	if !checkpointUnsettled(ctx, req, w, err) {
		return err
	}
	*res = protocol.Result{}
	return operateOnce(ctx, stack, req, w, res)
}

// checkpointUnsettled reports, after waiting checkpointSettle, whether err
// is a checkpoint that could not be read in a run after an interrupted one
// (and ctx is not done): then it is worth one more try.
func checkpointUnsettled(ctx context.Context, req protocol.Request, w *writer, err error) bool {
	if err == nil || !req.ClearLock || ctx.Err() != nil || !strings.Contains(err.Error(), "failed to load checkpoint") {
		return false
	}
	w.log("info", "the stack's checkpoint could not be read (%v): the interrupted run's engine may still be writing it; trying again", err)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(checkpointSettle):
		return true
	}
}

// operateOnce is one attempt of operate.
func operateOnce(ctx context.Context, stack auto.Stack, req protocol.Request, w *writer, res *protocol.Result) error {
	ch := make(chan events.EngineEvent, 64)
	done := make(chan struct{})
	var drift []protocol.Drift
	go func() {
		defer close(done)
		drift = forward(ch, w)
	}()

	var summary *auto.UpdateSummary
	var err error
	switch req.Operation {
	case protocol.Up:
		var r auto.UpResult
		// The history read after the up is used for its change counts
		// only: not decrypting it saves the passphrase provider's cost.
		opts := []optup.Option{optup.EventStreams(ch), optup.SuppressProgress(), optup.ShowSecrets(false)}
		if req.RefreshFirst {
			opts = append(opts, optup.Refresh())
		}
		r, err = stack.Up(ctx, opts...)
		if err == nil {
			summary = &r.Summary
			res.Outputs = map[string]protocol.Value{}
			for k, v := range r.Outputs {
				res.Outputs[k] = protocol.Value{Value: v.Value, Secret: v.Secret}
			}
		}
	case protocol.Preview:
		var r auto.PreviewResult
		r, err = stack.Preview(ctx, optpreview.EventStreams(ch), optpreview.SuppressProgress())
		if err == nil {
			res.Changes = opCounts(r.ChangeSummary)
		}
	case protocol.Destroy:
		var r auto.DestroyResult
		r, err = stack.Destroy(ctx, optdestroy.EventStreams(ch), optdestroy.SuppressProgress(), optdestroy.ShowSecrets(false))
		if err == nil {
			summary = &r.Summary
		}
	case protocol.Refresh:
		var r auto.PreviewResult
		r, err = stack.PreviewRefresh(ctx, optrefresh.EventStreams(ch), optrefresh.SuppressProgress())
		if err == nil {
			res.Changes = opCounts(r.ChangeSummary)
		}
	}
	// The Automation API closes ch when the operation ends — but only if it
	// got as far as watching the engine's events: an operation refused at
	// once (its context was cancelled before it began) never closes it.
	streamed := true
	if err != nil {
		select {
		case <-done:
		case <-time.After(eventsGrace):
			streamed = false
		}
	} else {
		<-done
	}
	if req.Operation == protocol.Refresh && streamed {
		res.Drift = drift
	}
	if summary != nil && summary.ResourceChanges != nil {
		res.Changes = *summary.ResourceChanges
	}
	if req.Operation == protocol.Up {
		res.ResourceCount = resourceCount(res.Changes)
	}
	return err
}

// prepare checks a request and clears the stack's stale locks.
func prepare(ctx context.Context, req protocol.Request, w *writer) error {
	if err := checkRequest(req); err != nil {
		return err
	}
	// A lock whose engine is gone would refuse this run ("the stack is
	// currently locked"); one held by a live engine is left to refuse it,
	// unless it is the engine of the interrupted run, still stopping (it
	// was interrupted when its runner died): that one is waited for.
	deadline := time.Now().Add(engineStopWait)
	waiting := false
	for {
		n, kept, err := clearLocks(req)
		if err != nil {
			w.log("warning", "clear stale lock: %v", err)
			return nil
		}
		if n > 0 {
			w.log("info", "removed %d stale lock(s) of a Pulumi engine that is gone (an interrupted run)", n)
		}
		if len(kept) == 0 {
			return nil
		}
		if !req.ClearLock || ctx.Err() != nil {
			for _, k := range kept {
				w.log("warning", "the stack is locked by a Pulumi engine of this machine that is still running (%s)", k)
			}
			return nil
		}
		if time.Now().After(deadline) {
			// Still running without its runner (the orphan of the
			// interrupted run, its program gone with the runner): it will
			// not finish; stop it, and its lock goes next round.
			for _, k := range kept {
				if orphaned(k.PID) {
					w.log("warning", "stopped the Pulumi engine of the interrupted run (%s): it ran on without its runner", k)
					_ = syscall.Kill(k.PID, syscall.SIGKILL)
				} else {
					w.log("warning", "the stack is locked by a Pulumi engine of this machine that is still running (%s)", k)
					return nil
				}
			}
			deadline = time.Now().Add(engineStopWait)
		}
		if !waiting {
			w.log("info", "waiting for the Pulumi engine of the interrupted run to stop (%s)", kept[0])
			waiting = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// String says whose lock it is.
func (o lockOwner) String() string {
	return fmt.Sprintf("pid %d since %s", o.PID, o.Timestamp.UTC().Format(time.RFC3339))
}

// orphaned says whether a process's parent is gone (it was re-parented to
// init, or to a subreaper that is no runner).
func orphaned(pid int) bool {
	ppid, err := proc.Parent(pid)
	return err == nil && (ppid == 1 || !isRunner(ppid))
}

// isRunner says whether a process is a runner — a stack binary or cloud
// itself, answering "run" — as a live engine's parent is.
func isRunner(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	return slices.Contains(args, "run") || filepath.Base(args[0]) == "cloud"
}

// engineStopWait is how long a run waits for the engine of an interrupted
// run of its stack to stop and release its lock before stopping it.
const engineStopWait = 15 * time.Second

func checkRequest(req protocol.Request) error {
	switch req.Operation {
	case protocol.Up, protocol.Preview, protocol.Destroy, protocol.Refresh:
	default:
		return fmt.Errorf("unknown operation %q", req.Operation)
	}
	switch {
	case req.Project == "":
		return errors.New("run request: project is empty")
	case req.Stack == "":
		return errors.New("run request: stack is empty")
	case req.WorkDir == "":
		return errors.New("run request: workDir is empty")
	}
	return nil
}

// eventsGrace is how long a failed operation's event stream may take to
// end after the operation returned (the tail of the engine's event log).
const eventsGrace = 5 * time.Second

// localProviders are the resource providers of this project that stacks may
// use (see providers/).
var localProviders = []string{"localfile"}

// openStack selects or creates the Pulumi stack of an inline program in
// the request's own workspace directory.
func openStack(ctx context.Context, req protocol.Request, program pulumi.RunFunc) (auto.Stack, error) {
	if err := os.MkdirAll(req.WorkDir, 0o700); err != nil {
		return auto.Stack{}, fmt.Errorf("create workspace: %w", err)
	}
	project := workspace.Project{
		Name:    tokens.PackageName(req.Project),
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
	}
	opts, c, err := workspaceOptions(req, nil)
	if err != nil {
		return auto.Stack{}, err
	}
	if plugins := localProviderPlugins(c); len(plugins) > 0 {
		project.Plugins = &workspace.Plugins{Providers: plugins}
	}
	opts = append(opts, auto.Project(project))
	stack, err := auto.UpsertStackInlineSource(ctx, req.Stack, req.Project, program, opts...)
	if err != nil {
		return auto.Stack{}, fmt.Errorf("select stack %s: %w", req.Stack, err)
	}
	return stack, nil
}

// workspaceOptions are the Automation API options every run shares: its
// workspace directory, the backend, the passphrase secrets provider,
// PULUMI_HOME and the Pulumi CLI (returned too). It also puts the
// request's Pulumi CLI first on PATH. extraEnv (KEY=value entries) is
// added to every CLI command's environment.
func workspaceOptions(req protocol.Request, extraEnv []string) ([]auto.LocalWorkspaceOption, *cli, error) {
	env := map[string]string{
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
	for _, kv := range extraEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if req.Backend != "" {
		env["PULUMI_BACKEND_URL"] = req.Backend
	}
	// Nothing here changes this process's environment: a project stack
	// runs inside cloud itself, several at once.
	c, err := newCLI(req.PulumiCommand, req.PulumiHome)
	if err != nil {
		return nil, nil, err
	}
	opts := []auto.LocalWorkspaceOption{
		auto.WorkDir(req.WorkDir),
		auto.EnvVars(env),
		auto.SecretsProvider("passphrase"),
		auto.Pulumi(c),
	}
	if req.PulumiHome != "" {
		opts = append(opts, auto.PulumiHome(req.PulumiHome))
	}
	return opts, c, nil
}

// localProviderPlugins names our own providers (built by
// tools/install/providers.sh next to the Pulumi CLI) found next to the CLI
// or on PATH, so a project lists them and the engine uses them without
// warning that it found a plugin on PATH.
func localProviderPlugins(c *cli) []workspace.PluginOptions {
	var out []workspace.PluginOptions
	for _, name := range localProviders {
		bin := "pulumi-resource-" + name
		if isExecutable(filepath.Join(c.dir(), bin)) {
			out = append(out, workspace.PluginOptions{Name: name, Path: c.dir()})
		} else if path, err := exec.LookPath(bin); err == nil {
			out = append(out, workspace.PluginOptions{Name: name, Path: filepath.Dir(path)})
		}
	}
	return out
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// forward turns Pulumi engine events into protocol events, measuring how
// long each resource operation took. It returns the resources whose
// outputs step changed them (update, delete, replace): during a refresh,
// the drift.
func forward(ch <-chan events.EngineEvent, w *writer) []protocol.Drift {
	started, done := map[string]time.Time{}, map[string]bool{}
	var drift []protocol.Drift
	for e := range ch {
		now := time.Now().UTC()
		var ev *protocol.Event
		switch {
		case e.ResourcePreEvent != nil:
			m := e.ResourcePreEvent.Metadata
			started[m.URN] = now
			ev = stepEvent(protocol.EventResourcePre, m)
			ev.Diffs = changedKeys(m)
		case e.ResOutputsEvent != nil:
			m := e.ResOutputsEvent.Metadata
			// A component reports its outputs twice (when registered and
			// when its program registers them): one step, one event.
			// The key has the op, as a replacement's steps share a URN.
			key := m.URN + "\x00" + string(m.Op)
			if done[key] {
				continue
			}
			done[key] = true
			ev = stepEvent(protocol.EventResourceDone, m)
			ev.Diffs = changedKeys(m)
			ev.Millis = since(started, m.URN, now)
			switch ev.Op {
			case "update", "delete", "replace":
				drift = append(drift, protocol.Drift{URN: m.URN, Resource: m.Type, Name: ev.Name, Op: ev.Op, Diffs: ev.Diffs})
			}
		case e.ResOpFailedEvent != nil:
			m := e.ResOpFailedEvent.Metadata
			ev = stepEvent(protocol.EventResourceFailed, m)
			ev.Millis = since(started, m.URN, now)
		case e.DiagnosticEvent != nil:
			d := e.DiagnosticEvent
			if d.Ephemeral {
				continue
			}
			ev = &protocol.Event{Type: protocol.EventDiagnostic, URN: d.URN, Severity: d.Severity,
				Message: strings.TrimRight(d.Message, "\n")}
		case e.SummaryEvent != nil:
			ev = &protocol.Event{Type: protocol.EventSummary, Changes: opCounts(e.SummaryEvent.ResourceChanges)}
		default:
			continue
		}
		w.send(protocol.Message{Kind: protocol.KindEvent, Time: now, Event: ev})
	}
	return drift
}

func stepEvent(typ string, m apitype.StepEventMetadata) *protocol.Event {
	name := m.URN
	if i := strings.LastIndex(name, "::"); i >= 0 {
		name = name[i+2:]
	}
	return &protocol.Event{Type: typ, URN: m.URN, Resource: m.Type, Name: name, Op: string(m.Op)}
}

// changedKeys names the top-level properties a step changes. Providers
// report them (Diffs, or the paths of DetailedDiff); for component
// resources, which have no provider, and for a refresh's drift they are
// derived as Pulumi's own display does: the inputs compared, else the
// outputs.
func changedKeys(m apitype.StepEventMetadata) []string {
	switch m.Op {
	case apitype.OpSame, apitype.OpCreate, apitype.OpDelete, apitype.OpRead:
		return nil
	}
	keys := map[string]bool{}
	for _, k := range m.Diffs {
		keys[k] = true
	}
	for path := range m.DetailedDiff {
		keys[topLevel(path)] = true
	}
	if len(keys) == 0 && m.Old != nil && m.New != nil {
		changed(keys, m.Old.Inputs, m.New.Inputs)
		if len(keys) == 0 {
			changed(keys, m.Old.Outputs, m.New.Outputs)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(keys))
}

// changed adds to keys every top-level key whose value differs between
// before and after.
func changed(keys map[string]bool, before, after map[string]any) {
	for k, v := range after {
		if w, ok := before[k]; !ok || !reflect.DeepEqual(v, w) {
			keys[k] = true
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			keys[k] = true
		}
	}
}

// topLevel is the first element of a property path such as
// `tags["env"]` or `rules[0].port`.
func topLevel(path string) string {
	if i := strings.IndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return path
}

func since(started map[string]time.Time, urn string, now time.Time) int64 {
	t, ok := started[urn]
	if !ok {
		return 0
	}
	return now.Sub(t).Milliseconds()
}

func opCounts(m map[apitype.OpType]int) map[string]int {
	if m == nil {
		return nil
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

// resourceCount derives how many resources exist after an up or refresh
// from the change summary, leaving out the Pulumi stack resource itself.
func resourceCount(changes map[string]int) int {
	n := 0
	for op, c := range changes {
		switch op {
		case "create", "same", "update", "replace", "read", "import", "refresh":
			n += c
		}
	}
	if n > 0 {
		n-- // the pulumi:pulumi:Stack resource
	}
	return n
}

// cleanError keeps the useful part of a failed Pulumi run: the diagnostics
// the engine printed, not the whole CLI transcript.
func cleanError(ctx context.Context, err error, pulumiHome string) string {
	if ctx.Err() != nil {
		return "cancelled"
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nstderr: "); i >= 0 {
		stderr := strings.TrimSpace(msg[i+len("\nstderr: "):])
		if stderr != "" {
			msg = stderr
		}
	}
	var lines, diags []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "code:") || strings.HasPrefix(l, "stdout:") {
			continue
		}
		lines = append(lines, l)
		// The engine's diagnostics ("error: …") are what a person needs,
		// not the CLI's "failed to run update: exit status 1".
		if d, ok := strings.CutPrefix(l, "error: "); ok && !slices.Contains(diags, d) {
			diags = append(diags, d)
		}
	}
	if explained := explainPlugin(msg, pulumiHome); explained != msg {
		return explained
	}
	if len(diags) > 0 {
		return strings.Join(diags, "\n")
	}
	return strings.Join(lines, "\n")
}

// explainPlugin turns the engine's complaint about a missing provider
// plugin into what to do about it; other messages are returned as they are.
func explainPlugin(msg, pulumiHome string) string {
	m := missingPlugin.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	install := fmt.Sprintf("pulumi plugin install resource %s %s", m[1], strings.TrimPrefix(m[2], "v"))
	if pulumiHome != "" {
		install = "PULUMI_HOME=" + pulumiHome + " " + install
	}
	return fmt.Sprintf("the Pulumi %s provider plugin (pulumi-resource-%s %s) is not installed, and this stack needs it to manage its resources: "+
		"install it with `%s` (it is downloaded from get.pulumi.com), or put pulumi-resource-%s on PATH", m[1], m[1], m[2], install, m[1])
}

// missingPlugin is the engine's complaint about a provider plugin it has
// not got (and, offline, cannot download).
var missingPlugin = regexp.MustCompile(`no resource plugin 'pulumi-resource-([a-z0-9-]+)' found in the workspace at version (v[0-9][^ ]*)`)

// lockOwner is what the Pulumi CLI writes into a file backend's lock.
type lockOwner struct {
	PID       int       `json:"pid"`
	Hostname  string    `json:"hostname"`
	Timestamp time.Time `json:"timestamp"`
}

// clearLocks removes the lock files of the request's stack in a file
// backend whose owner is provably gone: a Pulumi CLI of this host whose
// process no longer runs (killed, or its runner was). With req.ClearLock
// (the orchestrator knows the previous run of the stack was interrupted)
// it removes every lock but one held by a live process of this host. It
// returns how many it removed and what it left.
func clearLocks(req protocol.Request) (removed int, kept []lockOwner, err error) {
	backend := req.Backend
	if !strings.HasPrefix(backend, "file://") {
		return 0, nil, nil
	}
	u, err := url.Parse(backend)
	if err != nil {
		return 0, nil, err
	}
	root := filepath.Join(u.Host+u.Path, ".pulumi", "locks")
	patterns := []string{
		filepath.Join(root, "*", req.Project, req.Stack, "*.json"),
		filepath.Join(root, req.Stack, "*.json"),
	}
	host, _ := os.Hostname()
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, f := range files {
			var owner lockOwner
			b, rerr := os.ReadFile(f)
			known := rerr == nil && json.Unmarshal(b, &owner) == nil && owner.PID > 0
			local := known && owner.Hostname == host
			gone := local && proc.GoneSince(owner.PID, owner.Timestamp)
			if !gone && !(req.ClearLock && !local) {
				if local {
					kept = append(kept, owner)
				}
				continue
			}
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, kept, err
			}
			_ = os.Remove(f + ".attrs") // the blob library's metadata beside it
			removed++
		}
	}
	return removed, kept, nil
}
