package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
	_ "modernc.org/sqlite"
)

// BenchmarkStatus100StacksMillionEvents measures `cloud status` of a
// 100-stack deployment — the manifest parsed, the plan built, the stack
// states and the last operation read — in a store holding a million events
// across 100 operations.
func BenchmarkStatus100StacksMillionEvents(b *testing.B) {
	ctx := context.Background()
	home := b.TempDir()
	a, db := openWithStore(b, app.Config{Home: home})
	var m strings.Builder
	m.WriteString("version: 1\ndeployment_id: DSTAT01\norganization: bench\nproject: status\nenvironments:\n  dev: {region: eu-west-1}\nstacks:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&m, "  s%d:\n    program: probe\n", i)
		if i > 0 {
			fmt.Fprintf(&m, "    dependencies: [s%d]\n    config: {up: \"${s%d.resourceCount}\"}\n", (i-1)/2, (i-1)/2)
		}
	}
	if _, err := a.Init(ctx, app.InitRequest{File: "status.yaml", Data: []byte(m.String())}); err != nil {
		b.Fatal(err)
	}
	var ops []string
	for i := 0; i < 100; i++ {
		op := &store.Operation{DeploymentID: "DSTAT01", Environment: "dev", Kind: vocab.KindDeploy}
		if err := db.BeginOperation(ctx, op); err != nil {
			b.Fatal(err)
		}
		ops = append(ops, op.ID)
		if i == 99 {
			for s := 0; s < 100; s++ {
				name := fmt.Sprintf("s%d", s)
				if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: name, Status: vocab.StackDeployed},
					&store.StackState{Status: vocab.StackDeployed, ResourceCount: 1}, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := db.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", nil); err != nil {
			b.Fatal(err)
		}
	}
	fillEvents(b, filepath.Join(home, "cloud.db"), ops, 1_000_000)

	for b.Loop() {
		st, err := a.Status(ctx, "DSTAT01", "dev")
		if err != nil {
			b.Fatal(err)
		}
		if got := st.Environments[0].Status; got != vocab.DeploymentDeployed {
			b.Fatalf("status %s", got)
		}
	}
}

// fillEvents appends n engine events spread over the operations, in one
// transaction of a connection of its own: a fixture, not the write path.
func fillEvents(b *testing.B, path string, ops []string, n int) {
	b.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.Begin()
	if err != nil {
		b.Fatal(err)
	}
	// gseq is set here: the trigger that numbers rows inserted without
	// one costs a MAX per row.
	var gseq int64
	if err := tx.QueryRow(`SELECT COALESCE(MAX(gseq), 0) FROM events`).Scan(&gseq); err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO events (operation_id, seq, deployment_id, environment, stack, kind, time, payload, hlc, replica_id, gseq)
		VALUES (?, ?, 'DSTAT01', 'dev', ?, 'engine', ?, ?, '00000000000000000000', 'bench', ?)`)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC().Format(time.RFC3339Nano)
	per := n / len(ops)
	for i, op := range ops {
		for seq := 1; seq <= per; seq++ {
			payload := fmt.Sprintf(`{"type":"resource.done","urn":"urn:pulumi:s%d-dev::x::cloud:examples:Probe::r%d","op":"create","millis":3}`, seq%100, seq)
			gseq++
			if _, err := stmt.Exec(op, int64(seq)+1000, fmt.Sprintf("s%d", seq%100), at, payload, gseq); err != nil {
				b.Fatalf("op %d: %v", i, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
