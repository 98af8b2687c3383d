package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

func TestDB_SaveManifest(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	d := store.Deployment{ID: "D1BRV40", Organization: "acme", Project: "shop", Domain: "shop.example.com", Template: "default"}
	envs := []store.Environment{{Name: "dev", Enabled: true}, {Name: "stage"}, {Name: "prod"}}
	stacks := []store.DeploymentStack{
		{Name: "network", Program: "network", Enabled: true, Config: map[string]any{"cidr": "10.0.0.0/16", "azs": float64(3)}},
		{Name: "database", Program: "rds", Enabled: true, Dependencies: []string{"network"}, Layer: 1},
	}

	rev, created, err := db.SaveManifest(ctx, d, "v: 1\n", "alice", envs, stacks)
	if err != nil {
		t.Fatal(err)
	}
	if rev != 1 || !created {
		t.Fatalf("first save = rev %d, created %v; want 1, true", rev, created)
	}
	got, err := db.Deployment(ctx, "D1BRV40")
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentRevision != 1 || got.Organization != "acme" || got.CreatedAt.IsZero() {
		t.Errorf("Deployment = %+v", got)
	}
	gotStacks, err := db.DeploymentStacks(ctx, "D1BRV40")
	if err != nil {
		t.Fatal(err)
	}
	for i := range stacks {
		stacks[i].DeploymentID = "D1BRV40"
	}
	if !reflect.DeepEqual(gotStacks, stacks) {
		t.Errorf("DeploymentStacks = %+v, want %+v", gotStacks, stacks)
	}

	t.Run("same YAML is a no-op", func(t *testing.T) {
		before, _ := db.PendingOutbox(ctx)
		rev, created, err := db.SaveManifest(ctx, d, "v: 1\n", "bob", envs[:1], nil)
		if err != nil {
			t.Fatal(err)
		}
		if rev != 1 || created {
			t.Errorf("same YAML = rev %d, created %v; want 1, false", rev, created)
		}
		if after, _ := db.PendingOutbox(ctx); after != before {
			t.Errorf("outbox grew from %d to %d on a no-op save", before, after)
		}
		if envs, _ := db.Environments(ctx, "D1BRV40"); len(envs) != 3 {
			t.Errorf("environments = %d after no-op, want 3", len(envs))
		}
	})

	t.Run("new YAML appends a revision and replaces rows", func(t *testing.T) {
		rev, created, err := db.SaveManifest(ctx, d, "v: 2\n", "bob", []store.Environment{{Name: "prod", Region: "eu-west-1"}, {Name: "dev", Enabled: true}}, stacks[:1])
		if err != nil {
			t.Fatal(err)
		}
		if rev != 2 || created {
			t.Errorf("second save = rev %d, created %v; want 2, false", rev, created)
		}
		gotEnvs, err := db.Environments(ctx, "D1BRV40")
		if err != nil {
			t.Fatal(err)
		}
		if len(gotEnvs) != 2 || gotEnvs[0].Name != "prod" || gotEnvs[0].Region != "eu-west-1" || gotEnvs[1].Name != "dev" {
			t.Errorf("Environments = %+v, want prod (eu-west-1), dev", gotEnvs)
		}
		if st, _ := db.DeploymentStacks(ctx, "D1BRV40"); len(st) != 1 {
			t.Errorf("stacks = %d, want 1", len(st))
		}
		cur, err := db.Revision(ctx, "D1BRV40", 0)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Revision != 2 || cur.YAML != "v: 2\n" || cur.Author != "bob" || len(cur.SHA256) != 64 {
			t.Errorf("Revision(0) = %+v", cur)
		}
		first, err := db.Revision(ctx, "D1BRV40", 1)
		if err != nil || first.YAML != "v: 1\n" {
			t.Errorf("Revision(1) = %+v, %v", first, err)
		}
		revs, err := db.Revisions(ctx, "D1BRV40")
		if err != nil || len(revs) != 2 {
			t.Errorf("Revisions = %d, %v; want 2", len(revs), err)
		}
		if _, err := db.Revision(ctx, "D1BRV40", 7); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Revision(7) = %v, want ErrNotFound", err)
		}
	})

	t.Run("environment flag", func(t *testing.T) {
		if err := db.SetEnvironmentEnabled(ctx, "D1BRV40", "prod", true); err != nil {
			t.Fatal(err)
		}
		envs, _ := db.Environments(ctx, "D1BRV40")
		if !envs[0].Enabled {
			t.Errorf("prod not enabled: %+v", envs[0])
		}
		if err := db.SetEnvironmentEnabled(ctx, "D1BRV40", "qa", true); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetEnvironmentEnabled(qa) = %v, want ErrNotFound", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := db.DeleteDeployment(ctx, "D1BRV40"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Deployment(ctx, "D1BRV40"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Deployment after delete = %v, want ErrNotFound", err)
		}
		if ds, _ := db.Deployments(ctx); len(ds) != 0 {
			t.Errorf("Deployments after delete = %d, want 0", len(ds))
		}
		if err := db.DeleteDeployment(ctx, "D1BRV40"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete = %v, want ErrNotFound", err)
		}
		rev, created, err := db.SaveManifest(ctx, d, "v: 2\n", "carol", envs, stacks)
		if err != nil || !created || rev != 3 {
			t.Errorf("save after delete = rev %d, created %v, %v; want 3, true", rev, created, err)
		}
	})
}

func TestDB_Deployments_Order(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	for _, id := range []string{"DBBBBBB", "DAAAAAA", "DCCCCCC"} {
		if _, _, err := db.SaveManifest(ctx, store.Deployment{ID: id}, id, "", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := db.Deployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if want := []string{"DBBBBBB", "DAAAAAA", "DCCCCCC"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Deployments = %v, want creation order %v", ids, want)
	}
}
