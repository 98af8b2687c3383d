package main_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

// staleOperation records a running deploy of DSLOW01 owned by a process of
// this host that is gone, so the next open has an operation to mark
// interrupted: a write. It returns the store still open, as another cloud
// process would hold it (its cloud.db-shm exists); the test closes it.
func staleOperation(t *testing.T, home string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(home, "cloud.db"), store.Options{KeyFile: filepath.Join(home, "secret.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	host, _ := os.Hostname()
	op := &store.Operation{DeploymentID: "DSLOW01", Environment: "dev", Kind: "deploy", Command: "deploy",
		PID: 1, PIDStart: "999999999999", Host: host}
	if err := db.BeginOperation(ctx, op); err != nil {
		t.Fatal(err)
	}
	return db
}

func opStatus(t *testing.T, home string) string {
	t.Helper()
	ops := items[struct{ Status string }](t, mustCloud(t, home, "history", "DSLOW01", "-o", "json").stdout)
	if len(ops) == 0 {
		t.Fatal("no operation")
	}
	return ops[0].Status
}

// TestUnwritableStore: with the disk full, or a store this process may
// only read, the commands that read still work (the operation of a dead
// process is marked interrupted later, by an open that can write) and a
// command that writes fails saying the store cannot be written.
func TestUnwritableStore(t *testing.T) {
	t.Run("disk full", func(t *testing.T) {
		home := t.TempDir()
		mustCloud(t, home, "init", "--from-file", "testdata/manifests/slow.yaml")
		holder := staleOperation(t, home)
		// RLIMIT_FSIZE 0: every write to a regular file fails as on a full
		// disk (EFBIG instead of ENOSPC); reads, and the shared memory of
		// the WAL index, are unaffected.
		full := func(args ...string) result {
			t.Helper()
			sh := `ulimit -f 0 && exec "$@"`
			cmd := exec.Command("/bin/sh", append([]string{"-c", sh, "sh", cloudBin, "--home", home, "--no-color"}, args...)...)
			cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
			return runResult(t, cmd)
		}
		for _, args := range [][]string{{"status", "DSLOW01", "-o", "json"}, {"list", "-o", "json"}, {"history", "DSLOW01", "-o", "json"}, {"logs", "DSLOW01"}} {
			r := full(args...)
			if r.code != 0 || r.stdout == "" {
				t.Errorf("cloud %v with the disk full: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "mark interrupted operations") {
				t.Errorf("cloud %v: %s", args, r.stderr)
			}
		}
		if r := full("history", "DSLOW01", "-o", "json"); !strings.Contains(r.stdout, `"running"`) {
			t.Errorf("the operation of the dead process was marked with the disk full: %s", r.stdout)
		}
		if r := full("status", "DSLOW01"); !strings.Contains(r.stderr, "warning: the store cannot be written") {
			t.Errorf("status with the disk full does not warn that the store cannot be written: %q", r.stderr)
		}
		r := full("config", "set", "DSLOW01", "stacks.slow.config.delaySeconds", "1")
		if r.code != 1 || !strings.Contains(r.stderr, "the store cannot be written") {
			t.Errorf("config set with the disk full: exit %d, stderr %q; want 1 and the store cannot be written", r.code, r.stderr)
		}
		// No other process holds the store: its WAL index cannot be
		// made either, and reading still works.
		holder.Close()
		if r := full("list", "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, "DSLOW01") {
			t.Errorf("list with the disk full and the store closed: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		// Space again: the next open marks the operation.
		if got := opStatus(t, home); got != "interrupted" {
			t.Errorf("after the disk has room, the dead process's operation is %s, want interrupted", got)
		}
	})

	t.Run("read-only store", func(t *testing.T) {
		home := t.TempDir()
		mustCloud(t, home, "init", "--from-file", "testdata/manifests/slow.yaml")
		staleOperation(t, home)
		bin, cred := cloudBin, (*syscall.Credential)(nil)
		if os.Geteuid() == 0 {
			// Root writes whatever the mode says: run cloud as nobody,
			// owner of the home, for which a mode of 0444 holds.
			bin = filepath.Join(t.TempDir(), "cloud")
			copyFile(t, cloudBin, bin, 0o755)
			for _, dir := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), filepath.Dir(home)} {
				os.Chmod(dir, 0o755)
			}
			if err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Chown(p, 65534, 65534)
			}); err != nil {
				t.Fatal(err)
			}
			cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		}
		for _, p := range []string{"cloud.db", "cloud.db-wal", "cloud.db-shm"} {
			os.Chmod(filepath.Join(home, p), 0o444)
		}
		t.Cleanup(func() { os.Chmod(filepath.Join(home, "cloud.db"), 0o600) })
		ro := func(args ...string) result {
			t.Helper()
			cmd := exec.Command(bin, append([]string{"--home", home, "--no-color"}, args...)...)
			cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"), "HOME="+home)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			return runResult(t, cmd)
		}
		for _, args := range [][]string{{"list"}, {"list", "-o", "json"}, {"status", "DSLOW01"}, {"history", "DSLOW01"}} {
			if r := ro(args...); r.code != 0 || r.stdout == "" {
				t.Errorf("cloud %v on a read-only store: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
			}
		}
		r := ro("config", "set", "DSLOW01", "stacks.slow.config.delaySeconds", "1")
		if r.code != 1 || !strings.Contains(r.stderr, "the store cannot be written") || strings.Count(r.stderr, "store:") > 1 {
			t.Errorf("config set on a read-only store: exit %d, stderr %q; want 1 and the store cannot be written, said once", r.code, r.stderr)
		}
		// A home that cannot even be opened says so once.
		os.Chmod(filepath.Join(home, "cloud.db"), 0o000)
		if r := ro("list"); r.code != 1 || strings.Count(r.stderr, "open") != 1 || strings.Count(r.stderr, "cloud.db") != 1 {
			t.Errorf("list of an unreadable store: exit %d, stderr %q; want the error said once", r.code, r.stderr)
		}
	})
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
