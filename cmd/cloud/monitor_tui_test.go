package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/store/feed"
)

// tuiManifest is the demo deployment plus a gate (a probe) after it, with
// two stacks behind the gate.
const tuiManifest = `version: 1
deployment_id: DMONTUI
organization: acme
project: shop
domain: shop.example.com
environments:
  dev: {region: eu-west-1}
  prod: {region: eu-west-1}
`

const gateStacks = `  gate:
    program: probe
    dependencies: [monitoring]
    config: {failMessage: "gate closed: error budget exhausted"}
  canary:
    program: probe
    dependencies: [gate]
  rollout:
    program: probe
    dependencies: [canary]
`

// rowRE reads a stack row of the monitor's screen: selection mark, icon,
// name, status.
var rowRE = regexp.MustCompile(`^[ >] \S+ (\S+)\s+(\S+)`)

// screenStacks reads each stack's status from a rendered screen.
func screenStacks(view string) map[string]string {
	rows := map[string]string{}
	inLayer := false
	for _, line := range strings.Split(ansi.Strip(view), "\n") {
		switch {
		case strings.HasPrefix(line, "layer "):
			inLayer = true
		case strings.TrimSpace(line) == "":
			inLayer = false
		case inLayer:
			if m := rowRE.FindStringSubmatch(line); m != nil {
				rows[m[1]] = m[2]
			}
		}
	}
	return rows
}

// TestMonitorTUIFollowsRealDeploys drives the terminal client's model with
// the live event stream of real deploys by another process (what `cloud
// monitor ID -e dev` does, minus the terminal): every stack of the demo is
// seen deploying and then deployed on screen; in the next deploy a failing
// gate is shown failed with its message, and the stacks behind it skipped.
func TestMonitorTUIFollowsRealDeploys(t *testing.T) {
	home := t.TempDir()
	demo, err := os.ReadFile("../../app/templates/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, stacks, _ := strings.Cut(string(demo), "stacks:\n")
	file := filepath.Join(home, "manifest.yaml")
	if err := os.WriteFile(file, []byte(tuiManifest+"stacks:\n"+stacks+gateStacks), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCloud(t, home, "init", "--from-file", file)
	want := []string{"network", "security", "database", "storage", "app", "monitoring", "gate", "canary", "rollout"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.Open(ctx, app.Config{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	hub := a.Feed(feed.Options{})
	defer hub.Close()

	m := monitor.NewModel(monitor.New(), "DMONTUI/dev")
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 60})
	m.Outputs = func(stack string) ([]monitor.Output, error) {
		outs, err := a.Outputs(ctx, "DMONTUI", "dev", stack, false)
		var list []monitor.Output
		for name, o := range outs[stack] {
			list = append(list, monitor.Output{Name: name, Value: o.Value, Secret: o.Secret})
		}
		return list, err
	}
	// The stream runs beside the model, as in the command; the model is
	// only touched from this goroutine.
	events := make(chan *monitor.Event, 1024)
	go func() {
		_ = monitor.Follow(ctx, monitor.Local{Hub: hub}, monitor.Filter{DeploymentID: "DMONTUI", Environment: "dev"}, true,
			monitor.New(), func(ev *monitor.Event) { events <- ev }, nil)
	}()

	deploy := func() <-chan int {
		done := make(chan int, 1)
		cmd := exec.Command(cloudBin, "--home", home, "--no-color", "deploy", "DMONTUI", "-e", "dev")
		cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			_ = cmd.Wait()
			done <- cmd.ProcessState.ExitCode()
		}()
		return done
	}
	// watch feeds events to the model until the operation it shows ends
	// and the deploy exited, recording every status each stack had on
	// screen.
	watch := func(done <-chan int) (code int, seen map[string]map[string]bool) {
		seen = map[string]map[string]bool{}
		code = -1
		for deadline := time.After(3 * time.Minute); ; {
			select {
			case ev := <-events:
				m.Update(monitor.EventsMsg{ev})
				for n, s := range screenStacks(m.View()) {
					if seen[n] == nil {
						seen[n] = map[string]bool{}
					}
					seen[n][s] = true
				}
			case code = <-done:
				done = nil
			case <-deadline:
				t.Fatalf("no end of the operation on screen; last screen:\n%s", ansi.Strip(m.View()))
			}
			if done == nil && m.State.Ended() && len(events) == 0 {
				return code, seen
			}
		}
	}

	code, seen := watch(deploy())
	if code != 0 {
		t.Fatalf("first deploy: exit %d", code)
	}
	for _, n := range want {
		if !seen[n]["deployed"] {
			t.Errorf("%s never shown deployed (shown: %v)", n, seen[n])
		}
		if !seen[n]["pending"] && !seen[n]["deploying"] {
			t.Errorf("%s was never shown before it was deployed (shown: %v)", n, seen[n])
		}
	}
	screen := ansi.Strip(m.View())
	saveScreen(t, "monitor-deployed.txt", screen)
	if !strings.Contains(screen, "succeeded") || !strings.Contains(screen, "9/9 stacks done") {
		t.Errorf("final screen of the first deploy:\n%s", screen)
	}

	mustCloud(t, home, "config", "set", "DMONTUI", "stacks.gate.config.fail", "true")
	code, _ = watch(deploy())
	if code != 1 {
		t.Fatalf("deploy with a failing gate: exit %d, want 1", code)
	}
	screen = ansi.Strip(m.View())
	rows := screenStacks(m.View())
	if rows["gate"] != "failed" || rows["canary"] != "skipped" || rows["rollout"] != "skipped" {
		t.Errorf("gate %q, canary %q, rollout %q; want failed, skipped, skipped:\n%s", rows["gate"], rows["canary"], rows["rollout"], screen)
	}
	gateRow := regexp.MustCompile(`(?m)^[ >] \S+ gate .*$`).FindString(screen)
	if !strings.Contains(gateRow, "gate closed: error budget exhausted") {
		t.Errorf("the gate's row %q does not say why it failed:\n%s", gateRow, screen)
	}
	if !strings.Contains(screen, " failed") || !strings.Contains(screen, "1 failed") {
		t.Errorf("the header does not say the operation failed:\n%s", screen)
	}
	// Its details: select the gate, enter.
	for m.SelectedStack() != "gate" {
		before := m.SelectedStack()
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("j")})
		if m.SelectedStack() == before {
			t.Fatalf("cannot select the gate (stuck on %s)", before)
		}
	}
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("enter on the gate: no details")
	}
	m.Update(cmd())
	details := ansi.Strip(m.View())
	saveScreen(t, "monitor-failed.txt", details)
	if !regexp.MustCompile(`error +gate closed: error budget exhausted`).MatchString(details) || !strings.Contains(details, "stack gate") {
		t.Errorf("details of the gate:\n%s", details)
	}
}

// saveScreen keeps a screen as text in $CLOUD_SCREENSHOTS (default
// .artifacts/screenshots of the repository), for docs/monitoring.md (`make
// screenshots`).
func saveScreen(t *testing.T, name, screen string) {
	t.Helper()
	dir := os.Getenv("CLOUD_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(screen), 0o644); err != nil {
		t.Fatal(err)
	}
}
