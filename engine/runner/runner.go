// Package runner starts stack programs and speaks the runner protocol with
// them (see stacks/protocol): one process per stack operation, a JSON
// request on stdin, JSON lines back. A process of its own keeps the cloud
// binary free of cloud-provider SDKs and isolates a crashing or hung stack.
package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cloudplatform/cloud/stacks/protocol"
)

// Program is a runnable stack program.
type Program struct {
	// Name is the program name used in manifests (`program:`).
	Name string
	// Path is the executable; Args come before the describe|run request
	// (the cloud binary runs its built-in examples as `cloud stack-runner NAME`).
	Path string
	Args []string
	// Identity changes whenever the program's code may have changed; smart
	// skip redeploys a stack whose program identity changed.
	Identity string
	// Builtin is set for the example stacks compiled into cloud.
	Builtin bool
	// Project is the directory of a project stack (an existing Pulumi
	// project cloud runs as `cloud project-runner DIR`); empty for a
	// stack program.
	Project string
	// Serve, when set, answers the runner protocol in this process instead
	// of starting Path: a project stack's program already runs in a
	// process of its own (the Pulumi CLI and its language host), so a
	// second process in front of it would only cost a start-up.
	Serve Server
}

// Server answers one request of the runner protocol (args are "run",
// "describe" or "validate") on the given streams and returns the exit code
// a runner process would exit with; env is what a runner process would
// have added to its environment (Client.Env). ctx ending stops a run
// cleanly.
type Server func(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int

// Source is where the program comes from: its project directory or its
// executable.
func (p Program) Source() string {
	if p.Project != "" {
		return p.Project
	}
	return p.Path
}

// Client runs stack programs.
type Client struct {
	// Pulumi is the path of the Pulumi CLI the programs drive.
	Pulumi string
	// Env is added to every runner's environment (the passphrase of the
	// secrets provider, for one).
	Env []string
	// CancelGrace is how long a cancelled runner has to stop the Pulumi
	// engine cleanly (and release its lock) before it is killed.
	CancelGrace time.Duration
}

// Describe asks a program for its template.
func (c *Client) Describe(ctx context.Context, p Program) (protocol.Template, error) {
	var t protocol.Template
	cmd := exec.CommandContext(ctx, p.Path, append(append([]string{}, p.Args...), "describe")...)
	cmd.Env = append(os.Environ(), c.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return t, fmt.Errorf("describe %s: %w: %s", p.Name, err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(out, &t); err != nil {
		return t, fmt.Errorf("describe %s: bad template: %w", p.Name, err)
	}
	if t.Name == "" {
		t.Name = p.Name
	}
	return t, nil
}

// Run performs one request with the program, calling on for every event
// and log line as it arrives (from one goroutine, in order), and returns the
// final result. A run whose program fails reports it in Result.Error; the
// error return is for a runner that could not start or died without a
// result. Cancelling ctx asks the runner to stop the Pulumi operation
// cleanly (SIGTERM), waiting up to CancelGrace before killing it.
func (c *Client) Run(ctx context.Context, p Program, req protocol.Request, on func(protocol.Message)) (*protocol.Result, error) {
	if req.PulumiCommand == "" {
		req.PulumiCommand = c.Pulumi
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if p.Serve != nil {
		return c.serve(ctx, p, body, on)
	}
	cmd := exec.CommandContext(ctx, p.Path, append(append([]string{}, p.Args...), "run")...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = c.CancelGrace
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 2 * time.Minute
	}
	setDeathSignal(cmd)
	stderr := &stderrBuffer{max: 56 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	result, scanErr := readMessages(stdout, on)
	waitErr := cmd.Wait()
	return finish(ctx, p, result, scanErr, waitErr, stderr)
}

// serve runs a request with the program's in-process Server, over pipes
// that carry the same JSON lines a runner process would print. A panic in
// it is the death of a runner, not of cloud.
func (c *Client) serve(ctx context.Context, p Program, body []byte, on func(protocol.Message)) (*protocol.Result, error) {
	pr, pw := io.Pipe()
	stderr := &stderrBuffer{max: 56 << 10}
	var exitErr error
	go func() {
		defer func() {
			if r := recover(); r != nil {
				exitErr = fmt.Errorf("panic: %v", r)
				fmt.Fprintf(stderr, "panic: %v\n%s", r, debug.Stack())
			}
			pw.Close()
		}()
		if code := p.Serve(ctx, []string{"run"}, c.Env, bytes.NewReader(body), pw, stderr); code != 0 {
			exitErr = fmt.Errorf("exit status %d", code)
		}
	}()
	result, scanErr := readMessages(pr, on)
	// pr is read to its end (or drained on a read error): the server has
	// returned and closed pw, so exitErr and stderr are its last words.
	return finish(ctx, p, result, scanErr, exitErr, stderr)
}

// readMessages reads a runner's JSON lines, passing events and logs to on
// and returning the result. It reads r to its end.
func readMessages(r io.Reader, on func(protocol.Message)) (*protocol.Result, error) {
	var result *protocol.Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m protocol.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			// A program printing to stdout on its own is not fatal: keep it
			// as a log line.
			m = protocol.Message{Kind: protocol.KindLog, Time: time.Now().UTC(),
				Log: &protocol.Log{Level: "info", Text: sc.Text()}}
		}
		if m.Kind == protocol.KindResult && m.Result != nil {
			result = m.Result
			continue
		}
		if on != nil {
			on(m)
		}
	}
	scanErr := sc.Err()
	if scanErr != nil {
		_, _ = io.Copy(io.Discard, r)
	}
	return result, scanErr
}

// finish turns how a runner ended into Run's answer.
func finish(ctx context.Context, p Program, result *protocol.Result, scanErr, exitErr error, stderr *stderrBuffer) (*protocol.Result, error) {
	if result != nil {
		return result, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if scanErr != nil {
		return nil, fmt.Errorf("runner %s: read output: %w", p.Name, scanErr)
	}
	return nil, &DiedError{Program: p.Name, Exit: exitErr, Stderr: stderr.String()}
}

// DiedError is a runner that ended without a result: it crashed, was
// killed, or exited early. The stack may hold part of an update.
type DiedError struct {
	Program string
	// Exit is how it ended (an *exec.ExitError for a process); nil when it
	// exited 0 without a result.
	Exit error
	// Stderr is what it wrote to stderr (a Go runtime's goroutine dump,
	// say), its first 8 and last 56 KiB: kept in the stack's events, not
	// in Error.
	Stderr string
}

// Error says how the runner ended and the gist of its stderr: a crash's
// headline (panic:, fatal error:, SIGSEGV:) or its last lines.
func (e *DiedError) Error() string {
	how := "exited without a result"
	var exit *exec.ExitError
	if errors.As(e.Exit, &exit) {
		if st, ok := exit.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			how = fmt.Sprintf("exited with signal %d (%v) without a result", int(st.Signal()), st.Signal())
		} else {
			how += ": " + exit.Error()
		}
	} else if e.Exit != nil {
		how += ": " + e.Exit.Error()
	}
	msg := fmt.Sprintf("runner %s %s", e.Program, how)
	if gist := stderrGist(e.Stderr); gist != "" {
		msg += ": " + gist
	}
	return msg
}

// stderrGist is what a dead runner's stderr says in a few lines.
func stderrGist(stderr string) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		for _, p := range []string{"panic: ", "fatal error: ", "SIGSEGV: ", "SIGBUS: ", "SIGABRT: ", "SIGILL: ", "SIGFPE: ", "SIGQUIT: "} {
			if strings.HasPrefix(l, p) {
				return truncate(l, 300)
			}
		}
		lines = append(lines, l)
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return truncate(strings.Join(lines, "; "), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ErrNoPulumi is returned when the Pulumi CLI cannot be found.
var ErrNoPulumi = errors.New("pulumi CLI not found")

// FindPulumi returns the Pulumi CLI to use: explicit (the --pulumi flag or
// CLOUD_PULUMI) if given, else the first `pulumi` in dirs (the project's
// tools directory), else the one on PATH.
func FindPulumi(explicit string, dirs ...string) (string, error) {
	if explicit != "" {
		if isExecutable(explicit) {
			return explicit, nil
		}
		return "", fmt.Errorf("%w at %s", ErrNoPulumi, explicit)
	}
	for _, d := range dirs {
		p := d + string(os.PathSeparator) + "pulumi"
		if isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("pulumi"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: build it with tools/install/pulumi.sh, put it on PATH, or set --pulumi / CLOUD_PULUMI", ErrNoPulumi)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// stderrBuffer keeps the first 8 KiB and the last max bytes written to
// it: enough of a dying runner's stderr to explain itself (a crash's
// headline is at the top of its dump, the last words at the end) without
// holding a flood in memory.
type stderrBuffer struct {
	max     int
	head    []byte
	buf     []byte
	dropped bool
}

const stderrHead = 8 << 10

func (t *stderrBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := stderrHead - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
		t.dropped = true
	}
	return n, nil
}

func (t *stderrBuffer) String() string {
	if t.dropped {
		return string(t.head) + "\n…\n" + string(t.buf)
	}
	return string(t.head) + string(t.buf)
}
