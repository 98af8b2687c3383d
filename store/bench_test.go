package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/migrations"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

const (
	benchDeployment = "DBENCH1"
	benchStacks     = 100
	benchOperations = 200
	benchEvents     = 1_000_000
)

// benchFixture is the status benchmark's database. It takes a while to
// build, so it is built once and kept in the system temp directory
// (cloud-store-bench/) across runs; delete that directory to rebuild it.
var benchFixture = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(os.TempDir(), "cloud-store-bench")
	path := filepath.Join(dir, fmt.Sprintf("status-v%d-%d.db", migrations.Latest(), benchEvents))
	if _, err := os.Stat(path + ".done"); err == nil {
		return path, nil
	}
	os.RemoveAll(dir)
	if err := buildBenchFixture(path); err != nil {
		return "", err
	}
	return path, os.WriteFile(path+".done", nil, 0o600)
})

// buildBenchFixture writes one deployment of benchStacks stacks with their
// states, and benchOperations finished deploys carrying benchEvents events
// in all.
func buildBenchFixture(path string) error {
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()

	var stacks []store.DeploymentStack
	for i := 0; i < benchStacks; i++ {
		s := store.DeploymentStack{Name: fmt.Sprintf("stack-%03d", i), Program: "example", Enabled: true, Layer: i / 10,
			Config: map[string]any{"size": i}}
		if i >= 10 {
			s.Dependencies = []string{fmt.Sprintf("stack-%03d", i-10)}
		}
		stacks = append(stacks, s)
	}
	envs := []store.Environment{{Name: "dev", Enabled: true}, {Name: "stage", Enabled: true}, {Name: "prod", Enabled: true}}
	if _, _, err := db.SaveManifest(ctx, store.Deployment{ID: benchDeployment, Organization: "acme", Project: "bench"},
		"bench", "bench", envs, stacks); err != nil {
		return err
	}

	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	perOp := benchEvents / benchOperations
	payload := json.RawMessage(`{"type":"resource","urn":"urn:pulumi:dev::bench::kit:Component::thing","op":"create","durationMs":1234}`)
	batch := make([]store.Event, 0, perOp)
	for i := 0; i < benchOperations; i++ {
		at := start.Add(time.Duration(i) * time.Hour)
		op := &store.Operation{DeploymentID: benchDeployment, Environment: "dev", Kind: "deploy", StartedAt: at}
		if err := db.BeginOperation(ctx, op); err != nil {
			return err
		}
		for _, s := range stacks {
			t0, t1 := at, at.Add(time.Minute)
			if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: s.Name, Status: "deployed",
				StartedAt: &t0, FinishedAt: &t1, Changes: map[string]int{"same": 3}, ResourceCount: 3},
				&store.StackState{Status: "deployed", ResourceCount: 3, ConfigHash: "hash"}, nil); err != nil {
				return err
			}
		}
		for j := 0; j < perOp; j++ {
			batch = append(batch, store.Event{OperationID: op.ID, Seq: int64(j + 2), DeploymentID: benchDeployment,
				Environment: "dev", Stack: stacks[j%benchStacks].Name, Kind: "engine.resource",
				Time: at.Add(time.Duration(j) * time.Millisecond), Payload: payload})
		}
		if err := store.BulkEvents(ctx, db, batch); err != nil {
			return err
		}
		batch = batch[:0]
		if err := db.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", map[string]any{"deployed": benchStacks}); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkStatus100StacksMillionEvents measures what `cloud status` reads
// for one environment of a deployment with 100 stacks and a million events.
func BenchmarkStatus100StacksMillionEvents(b *testing.B) {
	path, err := benchFixture()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	b.ResetTimer()
	for b.Loop() {
		if _, err := db.Deployment(ctx, benchDeployment); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Environments(ctx, benchDeployment); err != nil {
			b.Fatal(err)
		}
		states, err := db.StackStates(ctx, benchDeployment, "dev")
		if err != nil || len(states) != benchStacks {
			b.Fatalf("StackStates = %d, %v", len(states), err)
		}
		last, err := db.LastOperation(ctx, benchDeployment, "dev")
		if err != nil {
			b.Fatal(err)
		}
		results, err := db.OperationStacks(ctx, last.ID)
		if err != nil || len(results) != benchStacks {
			b.Fatalf("OperationStacks = %d, %v", len(results), err)
		}
	}
}

// BenchmarkAppendEvent measures one durable event append (one transaction).
func BenchmarkAppendEvent(b *testing.B) {
	ctx := context.Background()
	db, _ := openStore(b)
	saveDeployment(b, db)
	op := beginOp(b, db)
	payload := json.RawMessage(`{"type":"resource","urn":"urn:pulumi:dev::shop::aws:ec2/vpc:Vpc::main","op":"create"}`)
	b.ResetTimer()
	for b.Loop() {
		if err := db.AppendEvent(ctx, &store.Event{OperationID: op.ID, Stack: "network", Kind: "engine.resource", Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
}
