package testtools

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a development server started by StartProcess, in a process
// group of its own (node starts children, and they must go with it). Its
// methods are safe for concurrent use.
type Process struct {
	answers func() bool

	mu  sync.Mutex // guards cmd
	cmd *exec.Cmd
}

// StartProcess starts cmd (name says what it is, for errors) and waits
// until answers reports it serves, it exits, or timeout passes; in the
// last two cases the error carries what it printed. A readiness deadline,
// not an assertion: node starts slowly on a loaded machine.
func StartProcess(name string, cmd *exec.Cmd, answers func() bool, timeout time.Duration) (*Process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(timeout)
	for {
		if answers() {
			return &Process{answers: answers, cmd: cmd}, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("%s exited: %v: %s", name, err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return nil, fmt.Errorf("%s did not answer within %s: %s", name, timeout, out.String())
		}
	}
}

// Kill stops the process group and waits (briefly) until the server no
// longer answers. Calling it twice is harmless.
func (p *Process) Kill() {
	if p == nil {
		return
	}
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	for range 100 {
		if !p.answers() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedWriter keeps the first 64 KiB of the process's output, for error
// messages; stdout and stderr are written from two goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  strings.Builder
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 64<<10 {
		return len(p), nil
	}
	return l.w.Write(p)
}
