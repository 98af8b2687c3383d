package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/faultproxy"
	"github.com/cloudplatform/cloud/sync/remote"
)

// ver names one version of one row: its (HLC, replica).
type ver struct{ hlc, replica string }

// oracle records every local write of a mutable row and the version of the
// row the writer had when it wrote (its parent). A version's causal
// history is its parent chain: a replica's write is based on the row as it
// held it, which is its own earlier write or a version it pulled.
type oracle struct {
	parent map[string]map[ver]ver // row -> version -> parent (zero: none)
	writes map[string][]ver       // row -> versions written, in order
	label  map[string]map[ver]int // row -> version -> the workload step that wrote it
	events map[string]int         // operation -> events its replica wrote
}

func newOracle() *oracle {
	return &oracle{parent: map[string]map[ver]ver{}, writes: map[string][]ver{}, events: map[string]int{},
		label: map[string]map[ver]int{}}
}

// versions returns a store's mutable rows' versions.
func versions(t testing.TB, db *store.DB) map[string]ver {
	t.Helper()
	m := map[string]ver{}
	if err := db.Rows(ctx, func(c store.Change, _ string) error {
		if !c.AppendOnly {
			m[c.Entity+"|"+string(c.Key)] = ver{c.HLC, c.Replica}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// observe records the writes r made between two snapshots of its rows:
// every row whose version changed to one stamped with r's replica id.
func (o *oracle) observe(r *replica, step int, before, after map[string]ver) {
	keys := make([]string, 0, len(after))
	for k := range after {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := after[k]
		if v == before[k] || v.replica != r.db.ReplicaID() {
			continue
		}
		if o.parent[k] == nil {
			o.parent[k] = map[ver]ver{}
		}
		if o.label[k] == nil {
			o.label[k] = map[ver]int{}
		}
		o.label[k][v] = step
		o.parent[k][v] = before[k]
		o.writes[k] = append(o.writes[k], v)
	}
}

// ancestors returns v's causal history on row k (v itself excluded).
func (o *oracle) ancestors(k string, v ver) map[ver]bool {
	out := map[ver]bool{}
	for {
		p, ok := o.parent[k][v]
		if !ok || p == (ver{}) || out[p] {
			return out
		}
		out[p] = true
		v = p
	}
}

// scenario runs a seeded random workload on three replicas sharing one
// table, then syncs until quiet, checks the invariants, and returns the
// end state as entity|key -> the workload step that wrote the final
// version, and whether it is a tombstone. (HLCs and replica ids are not
// comparable between runs: replica ids are random, and one store call
// writing several rows, such as SetOutputs, stamps them in map order.)
func scenario(t *testing.T, seed uint64, tbl *remote.Table, ops int) map[string]string {
	clk := newFakeClock()
	rs := []*replica{newReplica(t, "a", tbl, clk.Now), newReplica(t, "b", tbl, clk.Now), newReplica(t, "c", tbl, clk.Now)}
	rnd := rand.New(rand.NewPCG(seed, seed*7919))
	o := newOracle()
	offline := make([]bool, len(rs))
	deps := []string{"D1", "D2"}
	opN := 0
	stats := map[string]int{}
	for i := 0; i < ops; i++ {
		ri := rnd.IntN(len(rs))
		r := rs[ri]
		before := versions(t, r.db)
		var err error
		switch k := rnd.IntN(12); {
		case k < 3:
			putTemplate(t, r.db, fmt.Sprintf("t%d", rnd.IntN(3)), fmt.Sprintf("body %d", rnd.IntN(1000)))
			stats["put template"]++
		case k == 3:
			err = r.db.DeleteDeploymentTemplate(ctx, fmt.Sprintf("t%d", rnd.IntN(3)))
			stats["delete template"]++
		case k < 6:
			saveManifest(t, r.db, deps[rnd.IntN(2)], fmt.Sprintf("yaml %d", rnd.IntN(1000)), rnd.IntN(2) == 0)
			stats["save manifest"]++
		case k == 6:
			err = r.db.SetEnvironmentEnabled(ctx, deps[rnd.IntN(2)], []string{"dev", "prod"}[rnd.IntN(2)], rnd.IntN(2) == 0)
			stats["set environment"]++
		case k == 7:
			opN++
			id := fmt.Sprintf("op-%s-%03d", r.name, opN)
			if err = runOperation(t, r.db, id, deps[rnd.IntN(2)], 1+rnd.IntN(5), false); err == nil {
				n, _ := r.db.Events(ctx, id, 0, 1000)
				o.events[id] = len(n)
			}
			stats["operation"]++
		case k < 11:
			if offline[ri] {
				stats["skipped sync (offline)"]++
				continue
			}
			switch rnd.IntN(3) {
			case 0:
				_, err = r.eng.Push(ctx)
			case 1:
				_, err = r.eng.Pull(ctx)
			default:
				_, err = r.eng.Sync(ctx)
			}
			if err != nil {
				t.Fatalf("seed %d op %d: %s: sync: %v", seed, i, r.name, err)
			}
			stats["sync"]++
			continue
		default:
			offline[ri] = !offline[ri]
			stats["toggle offline"]++
			continue
		}
		var busy *store.BusyError
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.As(err, &busy) {
			t.Fatalf("seed %d op %d: %s: %v", seed, i, r.name, err)
		}
		o.observe(r, i, before, versions(t, r.db))
	}
	t.Logf("seed %d: %v", seed, stats)

	syncAll(t, rs...)
	assertSameRows(t, rs...)

	// No event lost or duplicated: every replica holds exactly the events
	// each operation's replica wrote (the key (operation, seq) makes a
	// duplicate impossible; a count per operation catches losses).
	for _, r := range rs {
		got := eventCounts(t, r.db)
		for id, n := range o.events {
			if got[id] != n {
				t.Errorf("seed %d: %s has %d events of %s, its replica wrote %d", seed, r.name, got[id], id, n)
			}
		}
		if len(got) != len(o.events) {
			t.Errorf("seed %d: %s has events of %d operations, want %d", seed, r.name, len(got), len(o.events))
		}
	}

	// The conflicts of all replicas, by id (the row, the loser and the
	// winner). One version may lose to several concurrent ones, each
	// recorded by the replica that saw it win; every record of one lost
	// version, on every replica, must name the same version (the same
	// write with the same content), and every winner must be newer than
	// its loser by last-writer-wins.
	conflicts := map[string]store.Conflict{}
	lost := map[string]store.Change{} // row and loser's version -> the loser as first recorded
	shared := 0                       // lost versions recorded more than once
	for _, r := range rs {
		cs, err := r.db.Conflicts(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if prev, ok := conflicts[c.ID]; ok && (!sameVersion(prev.Winner, c.Winner) || !sameVersion(prev.Loser, c.Loser)) {
				t.Errorf("seed %d: conflict %s differs between replicas: winner %s/%s %s loser %s/%s %s, and winner %s/%s %s loser %s/%s %s",
					seed, c.ID, prev.Winner.HLC, prev.Winner.Replica, prev.Winner.Payload, prev.Loser.HLC, prev.Loser.Replica, prev.Loser.Payload,
					c.Winner.HLC, c.Winner.Replica, c.Winner.Payload, c.Loser.HLC, c.Loser.Replica, c.Loser.Payload)
			}
			conflicts[c.ID] = c
			if !c.Winner.Newer(c.Loser) {
				t.Errorf("seed %d: %s: conflict %s: the winner %s/%s is not newer than the loser", seed, r.name, c.ID, c.Winner.HLC, c.Winner.Replica)
			}
			lk := c.Entity + "|" + string(c.Key) + "|" + c.Loser.HLC + "|" + c.Loser.Replica
			if prev, ok := lost[lk]; ok {
				shared++
				if !sameVersion(prev, c.Loser) {
					t.Errorf("seed %d: %s records lost version %s as %s, another replica as %s", seed, r.name, lk, c.Loser.Payload, prev.Payload)
				}
				continue
			}
			lost[lk] = c.Loser
		}
	}
	losers := map[string][]ver{}
	for _, c := range conflicts {
		k := c.Entity + "|" + string(c.Key)
		w, l := ver{c.Winner.HLC, c.Winner.Replica}, ver{c.Loser.HLC, c.Loser.Replica}
		// Sound: every conflict is a real concurrent pair — neither
		// version is in the other's causal history.
		if _, ok := o.parent[k][l]; !ok {
			t.Errorf("seed %d: conflict %s: loser %v is no write the test made", seed, c.ID, l)
		}
		if _, ok := o.parent[k][w]; !ok {
			t.Errorf("seed %d: conflict %s: winner %v is no write the test made", seed, c.ID, w)
		}
		if o.ancestors(k, w)[l] || o.ancestors(k, l)[w] {
			t.Errorf("seed %d: conflict %s on %s: %v and %v are not concurrent", seed, c.ID, k, w, l)
		}
		losers[k] = append(losers[k], l)
	}
	// Complete: every write that is not the final version and not in its
	// history (so it was overwritten without being seen) is a conflict's
	// loser, or in the history of one (the conflict that lost it).
	final := versions(t, rs[0].db)
	overwritten, direct, inFinal := 0, 0, 0
	for k, ls := range losers {
		for _, l := range ls {
			if o.ancestors(k, final[k])[l] {
				inFinal++ // a loser a later winning write built on
			}
		}
	}
	for k, ws := range o.writes {
		hist := o.ancestors(k, final[k])
		for _, w := range ws {
			if w == final[k] || hist[w] {
				continue
			}
			overwritten++
			covered := false
			for _, l := range losers[k] {
				if l == w {
					direct++
				}
				if l == w || o.ancestors(k, l)[w] {
					covered = true
				}
			}
			if !covered {
				t.Errorf("seed %d: %s: write %v was overwritten concurrently (final %v) but no conflict covers it", seed, k, w, final[k])
			}
		}
	}
	t.Logf("seed %d: %d rows, %d writes overwritten concurrently (%d of them a conflict's loser, the rest in a loser's history), %d conflicts (%d losers in the final version's history, %d lost versions recorded more than once)",
		seed, len(final), overwritten, direct, len(conflicts), inFinal, shared)

	out := map[string]string{}
	if err := rs[0].db.Rows(ctx, func(c store.Change, _ string) error {
		k := c.Entity + "|" + string(c.Key)
		if c.AppendOnly {
			out[k] = "present"
		} else {
			out[k] = fmt.Sprintf("step %d|deleted %v", o.label[k][ver{c.HLC, c.Replica}], c.Deleted)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out["#conflicts"] = fmt.Sprint(len(conflicts))
	return out
}

// TestEngine_Property: random interleaved edits on three replicas, some
// of them offline for a while, converge, lose no event, and every
// concurrent overwrite is a conflict (see scenario).
func TestEngine_Property(t *testing.T) {
	srv := dynamotest.Start(t)
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			scenario(t, seed, srv.NewTable(t), 200)
		})
	}
}

// TestEngine_Faults runs the same scenarios through a proxy that drops,
// delays, fails and throttles requests: the end state equals the
// fault-free run's: the same rows, each last written by the same step
// of the workload, the same tombstones, the same number of conflicts (the
// shared fake clock makes both runs order their writes alike).
func TestEngine_Faults(t *testing.T) {
	srv := dynamotest.Start(t)
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			want := scenario(t, seed, srv.NewTable(t), 150)
			p := faultproxy.Start(t, srv.Endpoint, faultproxy.Faults{
				DropRate: 0.04, DelayRate: 0.05, Delay: 2 * time.Millisecond, Error500Rate: 0.04, ThrottleRate: 0.04,
			})
			cfg := srv.Config(t)
			cfg.Endpoint = p.URL
			tbl := dynamotest.CreateTable(t, cfg, remote.WithRetry(15, 20*time.Millisecond))
			got := scenario(t, seed, tbl, 150)
			c := p.Counts()
			t.Logf("proxy: %+v", c)
			if c.Faulted() == 0 {
				t.Error("the proxy injected no fault")
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %q with faults, %q without", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: only with faults", k)
				}
			}
		})
	}
}

// sameVersion reports whether two records of a row's version agree: the
// same write (HLC and replica) with the same content.
func sameVersion(a, b store.Change) bool {
	if a.HLC != b.HLC || a.Replica != b.Replica || a.Deleted != b.Deleted {
		return false
	}
	var pa, pb any
	if json.Unmarshal(a.Payload, &pa) != nil || json.Unmarshal(b.Payload, &pb) != nil {
		return false
	}
	return reflect.DeepEqual(pa, pb)
}
