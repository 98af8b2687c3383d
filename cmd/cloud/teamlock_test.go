package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
)

type lockStatusJSON struct {
	Locked bool
	Team   struct {
		Configured, Free bool
		Lease            *remote.Lease
	}
}

func teamLease(t *testing.T, home, id string) lockStatusJSON {
	t.Helper()
	return decode[lockStatusJSON](t, mustCloud(t, home, "lock", "status", id, "-e", "dev", "-o", "json").stdout)
}

// TestTeamLock_TwoHomes: two machines on one table. While one deploys, the
// other's deploy is refused naming the holder; once it is done the other
// deploys. A lease of a dead holder is broken with unlock --force.
func TestTeamLock_TwoHomes(t *testing.T) {
	clearSyncEnv(t)
	srv := dynamotest.Start(t)
	table := dynamotest.TableName(t)
	h1, h2 := t.TempDir(), t.TempDir()
	for _, h := range []string{h1, h2} {
		mustCloud(t, h, "sync", "configure", "--table", table, "--region", "us-east-1", "--endpoint", srv.Endpoint)
	}
	mustCloud(t, h1, "sync", "init-table")
	const id = "DTLOCK1"
	initProbe(t, h1, id, 6, false)
	initProbe(t, h2, id, 6, false)
	replica1 := decode[map[string]any](t, mustCloud(t, h1, "sync", "status", "-o", "json").stdout)["replica"].(string)

	if st := teamLease(t, h2, id); !st.Team.Configured || !st.Team.Free || st.Team.Lease != nil {
		t.Fatalf("before any deploy: %+v", st)
	}

	cmd := exec.Command(cloudBin, "--home", h1, "--no-color", "deploy", id, "-e", "dev")
	cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(h1, "no-stacks"))
	var stderr1 bytes.Buffer
	cmd.Stderr = &stderr1
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var held lockStatusJSON
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if held = teamLease(t, h2, id); held.Team.Lease != nil {
			break
		}
	}
	l := held.Team.Lease
	if l == nil {
		t.Fatalf("home 1's deploy never took the team lock:\n%s", stderr1.String())
	}
	if !strings.HasPrefix(l.Holder, replica1+"/") || l.Info != "deploy "+id+"/dev" || l.Token == 0 || !l.Expires.After(l.Acquired) {
		t.Errorf("lease while home 1 deploys: %+v (replica %s)", l, replica1)
	}
	if r := mustCloud(t, h2, "lock", "status", id, "-e", "dev"); !strings.Contains(r.stdout, "team lock: held by "+l.Holder) {
		t.Errorf("lock status:\n%s", r.stdout)
	}

	r := cloud(t, h2, "deploy", id, "-e", "dev")
	if r.code != 1 || !strings.Contains(r.stderr, "locked by "+l.Holder+" (deploy "+id+"/dev) since") ||
		!strings.Contains(r.stderr, "lease until") {
		t.Errorf("deploy on home 2 while home 1 deploys: exit %d\n%s", r.code, r.stderr)
	}
	if ops := items[map[string]any](t, mustCloud(t, h2, "history", id, "-o", "json").stdout); len(ops) != 0 {
		t.Errorf("the refused deploy was recorded: %v", ops)
	}

	if err := cmd.Wait(); err != nil {
		t.Fatalf("home 1's deploy: %v\n%s", err, stderr1.String())
	}
	if strings.Contains(stderr1.String(), "team lock not taken") {
		t.Errorf("home 1 warned:\n%s", stderr1.String())
	}
	if st := teamLease(t, h2, id); !st.Team.Free {
		t.Errorf("after home 1's deploy: %+v", st)
	}
	// The fencing token is on home 1's operation: its flags and an event.
	op := latestOp(t, h1, id)
	var token float64
	for _, ev := range events(t, h1, id, op) {
		if ev.Kind == "team.lock" {
			var p map[string]any
			json.Unmarshal(ev.Payload, &p)
			token, _ = p["token"].(float64)
			if p["taken"] != true || p["holder"] != l.Holder {
				t.Errorf("team.lock event: %s", ev.Payload)
			}
		}
	}
	if int64(token) != l.Token {
		t.Errorf("team.lock event token %v, lease token %d", token, l.Token)
	}
	hist := items[struct {
		ID    string
		Flags map[string]any
	}](t, mustCloud(t, h1, "history", id, "-o", "json").stdout)
	if len(hist) == 0 || hist[0].Flags["teamLockToken"] != float64(l.Token) {
		t.Errorf("operation flags: %+v", hist)
	}

	mustCloud(t, h2, "config", "set", id, "stacks.mid.config.delaySeconds", "0")
	mustCloud(t, h2, "deploy", id, "-e", "dev")

	// A holder that died: its lease would hold for an hour.
	tbl, err := remote.Open(context.Background(), remote.Config{Table: table, Region: "us-east-1", Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.AcquireLease(context.Background(), id+"#dev", "dead/ghost@gone", "deploy "+id+"/dev", time.Hour); err != nil {
		t.Fatal(err)
	}
	if r := cloud(t, h2, "deploy", id, "-e", "dev", "--force"); r.code != 1 || !strings.Contains(r.stderr, "locked by dead/ghost@gone") {
		t.Errorf("deploy against a dead holder: exit %d\n%s", r.code, r.stderr)
	}
	r = mustCloud(t, h2, "unlock", id, "-e", "dev", "--force")
	if !strings.Contains(r.stderr, "broke the team lock of dev of "+id+": it was held by dead/ghost@gone") {
		t.Errorf("unlock --force:\n%s", r.stderr)
	}
	if st := teamLease(t, h2, id); !st.Team.Free {
		t.Errorf("after unlock --force: %+v", st)
	}
	// The break is history: an unlock operation whose team.lock event names
	// whose lease it was.
	unlock := latestOp(t, h2, id)
	var broke bool
	for _, ev := range events(t, h2, id, unlock) {
		var p map[string]any
		json.Unmarshal(ev.Payload, &p)
		if ev.Kind == "team.lock" && p["broken"] == true && p["holder"] == "dead/ghost@gone" && p["token"] != nil {
			broke = true
		}
	}
	if !broke {
		t.Errorf("no team.lock broken event on %s: %+v", unlock, events(t, h2, id, unlock))
	}
	mustCloud(t, h2, "deploy", id, "-e", "dev", "--force")
}

// TestTeamLock_Unreachable: with the table unreachable a deploy runs with a
// warning, unless --require-lock.
func TestTeamLock_Unreachable(t *testing.T) {
	clearSyncEnv(t)
	home := t.TempDir()
	mustCloud(t, home, "sync", "configure", "--table", "gone-table", "--region", "us-east-1", "--endpoint", "http://"+freeAddr(t))
	const id = "DTLOCK2"
	initProbe(t, home, id, 0, false)

	r := cloud(t, home, "deploy", id, "-e", "dev", "--require-lock")
	if r.code != 1 || !strings.Contains(r.stderr, "the team lock is required and could not be taken") {
		t.Errorf("deploy --require-lock, table unreachable: exit %d\n%s", r.code, r.stderr)
	}
	// How long the lock may take is bounded by teamlock.AcquireTimeout
	// (tested in sync/teamlock); here only that the deploy runs.
	r = mustCloud(t, home, "deploy", id, "-e", "dev")
	if !strings.Contains(r.stderr, "warning: team lock not taken:") {
		t.Errorf("deploy, table unreachable:\n%s", r.stderr)
	}
	if r := cloud(t, home, "lock", "status", id, "-e", "dev"); r.code != 1 {
		t.Errorf("lock status, table unreachable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
