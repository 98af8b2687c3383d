// Package servertest runs the real `cloud serve` for tests: it builds the
// cloud binary once per test process, starts it on a free loopback port
// with a home of the test's own, and stops it with SIGTERM at cleanup.
package servertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// root is the module root, from this file's path.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Binary builds cmd/cloud and the localfile provider once per test process
// and returns the cloud binary's path. It also points the process's PATH
// at the provider and CLOUD_PULUMI at the project's Pulumi CLI
// (tools/install/pulumi.sh builds it into .tools).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "cloud-servertest-")
		if buildErr != nil {
			return
		}
		for _, b := range [][2]string{{"cloud", "./cmd/cloud"}, {"pulumi-resource-localfile", "./cmd/pulumi-resource-localfile"}} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, b[0]), b[1])
			cmd.Dir = root()
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", b[1], err, out)
				return
			}
		}
		os.Setenv("PATH", buildDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		if os.Getenv("CLOUD_PULUMI") == "" {
			p := filepath.Join(root(), ".tools", "bin", "pulumi")
			if _, err := os.Stat(p); err == nil {
				os.Setenv("CLOUD_PULUMI", p)
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "cloud")
}

// Env is the environment of every cloud process a test starts: the
// built-in example stacks run (no stacks directory is found).
func Env(home string) []string {
	return append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
}

// Server is a running `cloud serve`.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
	Home string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

var serving = regexp.MustCompile(`serving on http://(\S+)`)

// Start runs `cloud --home HOME serve --listen 127.0.0.1:0 ARGS…` and waits
// until it listens. The server is stopped at cleanup.
func Start(t testing.TB, home string, args ...string) *Server {
	t.Helper()
	bin := Binary(t)
	cmd := exec.Command(bin, append([]string{"--home", home, "--no-color", "serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = Env(home)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{Home: home, cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logs.WriteString(line + "\n")
			if m := serving.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		s.Addr, s.URL = a, "http://"+a
	case err := <-s.done:
		t.Fatalf("cloud serve exited before listening: %v\n%s", err, s.logs.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("cloud serve did not listen within 60s:\n%s", s.logs.String())
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.Stop(t)
		}
	})
	return s
}

// Stop sends SIGTERM and waits for the server to exit; it fails the test
// if the server exits with an error or does not exit within two minutes.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop cloud serve: %v", err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("cloud serve exited with %v\n%s", err, s.logs.String())
		}
	case <-time.After(2 * time.Minute):
		s.cmd.Process.Kill()
		t.Fatalf("cloud serve did not stop within 2 minutes:\n%s", s.logs.String())
	}
}

// Logs returns what the server wrote on stderr so far.
func (s *Server) Logs() string { return s.logs.String() }

// Result is the outcome of one CLI run.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Cloud runs the cloud CLI with the home (sharing it with a server).
func Cloud(t testing.TB, home string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"--home", home, "--no-color"}, args...)...)
	cmd.Env = Env(home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run cloud %v: %v", args, err)
	}
	return Result{code, out.String(), errb.String()}
}

// MustCloud is Cloud that fails the test on a non-zero exit.
func MustCloud(t testing.TB, home string, args ...string) Result {
	t.Helper()
	r := Cloud(t, home, args...)
	if r.Code != 0 {
		t.Fatalf("cloud %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	b.b.WriteString(s)
	b.mu.Unlock()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
