package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

func TestDB_StackTemplates(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	put := func(tmpl, hash string) {
		t.Helper()
		if err := db.PutStackTemplate(ctx, store.StackTemplate{Name: "network", Description: "VPC", Template: []byte(tmpl), ProgramHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	put(`{"inputs": {"cidr": {"type": "string"}}}`, "h1")
	put(`{"inputs":{"cidr":{"type":"string"}}}`, "h1") // same JSON: no new version
	put(`{"inputs":{}}`, "h2")

	got, err := db.StackTemplate(ctx, "network")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.ProgramHash != "h2" || string(got.Template) != `{"inputs":{}}` || got.RegisteredAt.IsZero() {
		t.Errorf("StackTemplate = %+v", got)
	}
	hist, err := db.StackTemplateHistory(ctx, "network")
	if err != nil || len(hist) != 2 || hist[0].ProgramHash != "h1" {
		t.Errorf("history = %+v, %v", hist, err)
	}
	if err := db.DeleteStackTemplate(ctx, "network"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StackTemplate(ctx, "network"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StackTemplate after delete = %v, want ErrNotFound", err)
	}
	if list, _ := db.StackTemplates(ctx); len(list) != 0 {
		t.Errorf("StackTemplates = %d, want 0", len(list))
	}
}

func TestDB_DeploymentTemplates(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	for _, tm := range []store.DeploymentTemplate{
		{Name: "web", Body: "stacks: {}"},
		{Name: "default", Description: "everything", Body: "stacks: {network: {}}", Builtin: true},
	} {
		if err := db.PutDeploymentTemplate(ctx, tm); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.DeploymentTemplate(ctx, "default")
	if err != nil || !got.Builtin || got.Description != "everything" {
		t.Errorf("DeploymentTemplate = %+v, %v", got, err)
	}
	list, err := db.DeploymentTemplates(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "default" {
		t.Errorf("DeploymentTemplates = %+v, %v", list, err)
	}
	if err := db.DeleteDeploymentTemplate(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeploymentTemplate(ctx, "web"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete = %v, want ErrNotFound", err)
	}
}
