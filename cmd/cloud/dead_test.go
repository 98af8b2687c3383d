package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/internal/proc"
)

// TestDeadEngineOrRunner kills, while cloud keeps running, first the Pulumi
// engine of a stack (kill -9 of its pulumi process) and then the stack's
// runner (kill -SEGV): each time the stack ends interrupted with the cause,
// the engine lock it left is cleared by the next run, and that run simply
// works. The engine's lock is cleared once by the next run on its own, and
// once by hand with unlock --engine.
func TestDeadEngineOrRunner(t *testing.T) {
	cases := []struct {
		name   string
		runner bool // kill the engine's runner, not the engine
		signal syscall.Signal
		cause  string
		unlock bool // clear the lock with unlock --engine before the next run
	}{
		{"engine", false, syscall.SIGKILL, "the Pulumi engine (pid", false},
		{"engine-unlocked-by-hand", false, syscall.SIGKILL, "the Pulumi engine (pid", true},
		{"runner", true, syscall.SIGSEGV, "runner probe exited without a result: exit status 2: SIGSEGV: segmentation violation", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			mustCloud(t, home, "init", "--from-file", "testdata/manifests/slow.yaml")
			cmd := exec.Command(cloudBin, "--home", home, "--no-color", "deploy", "DSLOW01", "-e", "dev")
			cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()

			// The victim is the slow stack's engine (the pulumi up of
			// slow-dev, once it holds its lock) or that engine's parent.
			var victim int
			deadline := time.Now().Add(2 * time.Minute)
			for victim == 0 && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				if !slices.ContainsFunc(lockFiles(t, home), func(f string) bool { return strings.Contains(f, "/slow-dev/") }) {
					continue
				}
				for _, pid := range descendants(cmd.Process.Pid) {
					b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
					if c := string(b); err != nil || !strings.Contains(c, "\x00up\x00") || !strings.Contains(c, "\x00slow-dev\x00") {
						continue
					}
					victim = pid
					if tc.runner {
						victim, _ = proc.Parent(pid)
					}
				}
			}
			if victim == 0 {
				t.Fatalf("the slow stack's %s never started with its lock taken:\n%s", tc.name, stderr.String())
			}
			if err := syscall.Kill(victim, tc.signal); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("deploy after the %s died: %v, want exit 1\n%s", tc.name, err, stderr.String())
			}
			out := stderr.String()
			if !regexp.MustCompile(`stack slow +interrupted`).MatchString(out) || !strings.Contains(out, tc.cause) ||
				strings.Contains(out, "context canceled") || strings.Contains(out, "goroutine ") {
				t.Errorf("deploy output does not say the stack was interrupted by its %s's death (%q), or dumps a stack:\n%s", tc.name, tc.cause, out)
			}
			if got := stackStatuses(t, home, "DSLOW01")["slow"]; got != "interrupted" {
				t.Errorf("slow is %s, want interrupted", got)
			}
			if tc.name == "runner" {
				// The dump is kept, in the stack's events.
				if logs := mustCloud(t, home, "logs", "DSLOW01", "-e", "dev", "--stack", "slow").stdout; !strings.Contains(logs, "goroutine ") {
					t.Errorf("the runner's stderr is not in the logs:\n%s", logs)
				}
			}

			if tc.name != "runner" && len(lockFiles(t, home)) == 0 {
				t.Fatal("no lock left by the killed engine: nothing here tests clearing it")
			}
			if tc.unlock {
				if r := cloud(t, home, "unlock", "DSLOW01", "-e", "dev", "--engine", "slow"); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Refusing without --yes") {
					t.Errorf("unlock --engine with no terminal and no --yes: exit %d %q %q, want a refusal (exit 2)", r.code, r.stdout, r.stderr)
				}
				r := mustCloud(t, home, "unlock", "DSLOW01", "-e", "dev", "--engine", "slow", "--yes")
				if !strings.Contains(r.stderr, "organization/DSLOW01-acme-slow/slow-dev") {
					t.Errorf("unlock --engine: %q, want it to name the Pulumi stack", r.stderr)
				}
				if left := lockFiles(t, home); len(left) > 0 {
					t.Fatalf("unlock --engine left %v", left)
				}
			}

			mustCloud(t, home, "config", "set", "DSLOW01", "stacks.slow.config.delaySeconds", "0")
			r := cloud(t, home, "deploy", "DSLOW01", "-e", "dev", "--resume")
			if r.code != 0 {
				t.Fatalf("deploy --resume after the %s died: exit %d\n%s", tc.name, r.code, r.stderr)
			}
			for name, s := range stackStatuses(t, home, "DSLOW01") {
				if s != "deployed" {
					t.Errorf("after the resume, %s is %s", name, s)
				}
			}
			if left := lockFiles(t, home); len(left) > 0 {
				t.Errorf("locks left after a successful run: %v", left)
			}
			// The engine's lock is cleared by the next run when it was
			// killed, not when it was unlocked by hand; a dead runner's
			// engine (interrupted by the kernel) may or may not have
			// released it in time.
			if tc.name != "runner" {
				if logs := mustCloud(t, home, "logs", "DSLOW01", "-e", "dev", "--stack", "slow").stdout; (tc.name == "engine") != strings.Contains(logs, "removed 1 stale lock(s)") {
					t.Errorf("the resume's logs (%s case) about the stale lock:\n%s", tc.name, logs)
				}
			}
		})
	}
}

// lockFiles lists the Pulumi lock files of the home's file backend.
func lockFiles(t *testing.T, home string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(home, "state", ".pulumi", "locks")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// descendants lists the processes under pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ppid, err := proc.Parent(p); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
