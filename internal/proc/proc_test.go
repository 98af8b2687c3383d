package proc_test

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/internal/proc"
)

func TestGone(t *testing.T) {
	self := os.Getpid()
	start, exists, err := proc.Start(self)
	if err != nil || !exists || start == "" {
		t.Fatalf("Start(self) = %q %v %v", start, exists, err)
	}
	if proc.Gone(self, start) {
		t.Error("Gone(self) = true")
	}
	if !proc.Gone(self, start+"1") {
		t.Error("Gone(self, another start time) = false: a reused pid must count as gone")
	}
	if proc.Gone(0, "") || proc.Gone(-1, "") {
		t.Error("an unknown pid must never be gone")
	}

	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.ProcessState.Pid()
	if !proc.Gone(dead, "") || !proc.GoneSince(dead, time.Now()) {
		t.Errorf("pid %d of an exited process is not gone", dead)
	}
}

func TestGoneSince(t *testing.T) {
	self := os.Getpid()
	if proc.GoneSince(self, time.Now()) {
		t.Error("GoneSince(self, now): this process was alive then")
	}
	// A lock written an hour before this process started was written by
	// another process that had this pid.
	if !proc.GoneSince(self, time.Now().Add(-time.Hour)) {
		t.Error("GoneSince(self, an hour ago) = false: the pid was reused since")
	}
}

func TestParent(t *testing.T) {
	if got, err := proc.Parent(os.Getpid()); err != nil || got != os.Getppid() {
		t.Errorf("Parent(self) = %d, %v; want %d", got, err, os.Getppid())
	}
	if _, err := proc.Parent(-5); err == nil {
		t.Error("Parent of no process: no error")
	}
}
