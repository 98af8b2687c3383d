package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const monitorManifest = `version: 1
deployment_id: %s
organization: acme
project: probe
environments:
  dev: {region: eu-west-1}
stacks:
  base: {program: probe, config: {greeting: hi}}
  mid: {program: probe, dependencies: [base], config: {delaySeconds: %d, fail: %t}}
  top: {program: probe, dependencies: [mid]}
`

// monitorServer is a `cloud serve` of the test binary on a fixed address.
type monitorServer struct {
	cmd  *exec.Cmd
	done chan struct{}
	logs bytes.Buffer
	mu   sync.Mutex
}

var servingRE = regexp.MustCompile(`serving on http://(\S+)`)

func startMonitorServer(t *testing.T, home, addr string, extra ...string) *monitorServer {
	t.Helper()
	s := &monitorServer{done: make(chan struct{})}
	s.cmd = exec.Command(cloudBin, append([]string{"--home", home, "--no-color", "serve", "--listen", addr}, extra...)...)
	s.cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if servingRE.MatchString(sc.Text()) {
				once.Do(func() { close(ready) })
			}
		}
		_ = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("cloud serve exited: %s", s.logs.String())
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		t.Fatal("cloud serve did not start")
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *monitorServer) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func initProbe(t *testing.T, home, id string, delay int, fail bool) {
	t.Helper()
	file := filepath.Join(home, id+".yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, monitorManifest, id, delay, fail), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCloud(t, home, "init", "--from-file", file)
}

func latestOp(t *testing.T, home, id string) string {
	t.Helper()
	ops := items[struct{ ID, Status string }](t, mustCloud(t, home, "history", id, "-o", "json").stdout)
	if len(ops) == 0 {
		t.Fatalf("history of %s is empty", id)
	}
	return ops[0].ID
}

// checkFinal checks that the plain output reports each stack's final state
// and the operation's result.
func checkFinal(t *testing.T, out string, final map[string]string, result string) {
	t.Helper()
	for stack, state := range final {
		if !regexp.MustCompile(`stack ` + stack + ` +` + state + `\b`).MatchString(out) {
			t.Errorf("no line with %s %s in:\n%s", stack, state, out)
		}
	}
	if !regexp.MustCompile(`operation op-\S+ deploy ` + result + ` in `).MatchString(out) {
		t.Errorf("no final operation line %q in:\n%s", result, out)
	}
}

// TestMonitorPlainE2E: `monitor --plain --operation` against the local
// store and a real `cloud serve`, for a succeeding and a failing
// operation, exits 0 and 1 and reports every stack's final state.
func TestMonitorPlainE2E(t *testing.T) {
	home := t.TempDir()
	initProbe(t, home, "DMONOK1", 0, false)
	initProbe(t, home, "DMONKO1", 0, true)
	mustCloud(t, home, "deploy", "DMONOK1", "-e", "dev")
	if r := cloud(t, home, "deploy", "DMONKO1", "-e", "dev"); r.code == 0 {
		t.Fatalf("failing deploy succeeded: %s", r.stderr)
	}
	ok, ko := latestOp(t, home, "DMONOK1"), latestOp(t, home, "DMONKO1")
	srv := freeAddr(t)
	startMonitorServer(t, home, srv)
	for _, server := range []string{"", "http://" + srv} {
		args := []string{"monitor", "--plain"}
		if server != "" {
			args = append(args, "--server", server)
		}
		r := cloud(t, home, append(args, "--operation", ok)...)
		if r.code != 0 {
			t.Fatalf("monitor %v of a succeeded operation: exit %d\n%s\n%s", server, r.code, r.stdout, r.stderr)
		}
		checkFinal(t, r.stdout, map[string]string{"base": "deployed", "mid": "deployed", "top": "deployed"}, "succeeded")
		r = cloud(t, home, append(args, "--operation", ko)...)
		if r.code != 1 {
			t.Fatalf("monitor %v of a failed operation: exit %d\n%s\n%s", server, r.code, r.stdout, r.stderr)
		}
		checkFinal(t, r.stdout, map[string]string{"base": "deployed", "mid": "failed", "top": "skipped"}, "failed")
	}
	if r := cloud(t, home, "monitor", "--plain"); r.code != 2 || !strings.Contains(r.stdout, "DMONOK1") {
		t.Errorf("monitor without an ID: exit %d, want 2 and the list\n%s", r.code, r.stdout)
	}

	// With a deployment ID: its latest operation, then (until
	// interrupted) the ones after, locally and through the server.
	for _, server := range []string{"", "http://" + srv} {
		args := []string{"--home", home, "--no-color", "monitor", "--plain", "DMONOK1", "-e", "dev"}
		if server != "" {
			args = append(args, "--server", server)
		}
		mon := exec.Command(cloudBin, args...)
		var out, errb syncBuf
		mon.Stdout, mon.Stderr = &out, &errb
		if err := mon.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, &out, ok+" deploy succeeded")
		mustCloud(t, home, "deploy", "DMONOK1", "-e", "dev")
		next := latestOp(t, home, "DMONOK1")
		waitFor(t, &out, next+" deploy succeeded")
		_ = mon.Process.Signal(os.Interrupt)
		if err := mon.Wait(); err != nil {
			t.Errorf("watch %q: %v\n%s", server, err, errb.String())
		}
		ok = next
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, out *syncBuf, text string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(out.String(), text) {
			return
		}
	}
	t.Fatalf("no %q in:\n%s", text, out.String())
}

// TestMonitorReconnectE2E: a remote monitor of a running operation
// survives its server being killed and restarted: it says it is
// reconnecting, resumes where it was and exits with the operation's result,
// having printed every event of the operation once, in order, exactly as
// the store holds them.
func TestMonitorReconnectE2E(t *testing.T) {
	home := t.TempDir()
	initProbe(t, home, "DMONRC1", 6, false)
	addr := freeAddr(t)
	srv := startMonitorServer(t, home, addr)

	deploy := exec.Command(cloudBin, "--home", home, "--no-color", "deploy", "DMONRC1", "-e", "dev")
	deploy.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	if err := deploy.Start(); err != nil {
		t.Fatal(err)
	}
	defer deploy.Wait()
	var op string
	for deadline := time.Now().Add(30 * time.Second); op == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var page struct{ Items []struct{ ID string } }
		r := cloud(t, home, "history", "DMONRC1", "-o", "json")
		if json.Unmarshal([]byte(r.stdout), &page) == nil && len(page.Items) > 0 {
			op = page.Items[0].ID
		}
	}
	if op == "" {
		t.Fatal("the deploy did not start")
	}
	mon := exec.Command(cloudBin, "--home", home, "--no-color", "-o", "json", "monitor", "--server", "http://"+addr, "--operation", op)
	var out, errb syncBuf
	mon.Stdout, mon.Stderr = &out, &errb
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the server (no graceful goodbye) once the monitor got events,
	// while the operation still runs (mid sleeps 6 s).
	waitFor(t, &out, `"kind":"stack.status"`)
	_ = srv.cmd.Process.Kill()
	<-srv.done
	time.Sleep(time.Second)
	startMonitorServer(t, home, addr)
	if err := mon.Wait(); err != nil {
		t.Fatalf("monitor: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "reconnecting") {
		t.Errorf("no reconnecting notice:\n%s", errb.String())
	}

	type event struct {
		OperationID string
		Seq         int
		Stack, Kind string
		Time        time.Time
	}
	var got []event
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("monitor printed %q: %v", line, err)
		}
		got = append(got, ev)
	}
	var stored []event
	for _, line := range strings.Split(strings.TrimSpace(mustCloud(t, home, "-o", "json", "logs", "DMONRC1", "--operation", op).stdout), "\n") {
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("logs printed %q: %v", line, err)
		}
		stored = append(stored, ev)
	}
	if len(stored) < 10 {
		t.Fatalf("the store holds only %d events of %s", len(stored), op)
	}
	if len(got) != len(stored) {
		t.Errorf("monitor printed %d events, the store holds %d", len(got), len(stored))
	}
	for i := range min(len(got), len(stored)) {
		g, s := got[i], stored[i]
		if g.OperationID != op || g.Seq != s.Seq || g.Stack != s.Stack || g.Kind != s.Kind || !g.Time.Equal(s.Time) {
			t.Fatalf("event %d: monitor printed %+v, the store holds %+v", i, g, s)
		}
	}
}
