package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

func TestDB_Outputs(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	const secret = "hunter2-very-secret-password"
	outs := map[string]store.Output{
		"vpcId":    {Value: "vpc-123"},
		"subnets":  {Value: []any{"a", "b"}},
		"password": {Value: secret, Secret: true},
		"conn":     {Value: map[string]any{"user": "admin", "pass": secret}, Secret: true},
	}
	if err := db.SetOutputs(ctx, "D1BRV40", "dev", "database", outs); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOutputs(ctx, "D1BRV40", "dev", "network", map[string]store.Output{"vpcId": {Value: "vpc-123"}}); err != nil {
		t.Fatal(err)
	}

	got, err := db.Outputs(ctx, "D1BRV40", "dev", "database")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, outs) {
		t.Errorf("Outputs = %#v, want %#v", got, outs)
	}
	all, err := db.AllOutputs(ctx, "D1BRV40", "dev")
	if err != nil || len(all) != 2 || all["network"]["vpcId"].Value != "vpc-123" {
		t.Errorf("AllOutputs = %v, %v", all, err)
	}

	t.Run("secrets are encrypted at rest", func(t *testing.T) {
		raw := rawDB(t, path)
		rows, err := raw.Query(`SELECT name, value FROM outputs WHERE secret = 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var name, value string
			if err := rows.Scan(&name, &value); err != nil {
				t.Fatal(err)
			}
			n++
			if strings.Contains(value, secret) || strings.Contains(value, "admin") {
				t.Errorf("output %s stored in plain text: %s", name, value)
			}
		}
		if n != 2 {
			t.Errorf("secret rows = %d, want 2", n)
		}
		var leaks int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM outbox WHERE payload LIKE ?`, "%"+secret+"%").Scan(&leaks); err != nil || leaks != 0 {
			t.Errorf("outbox rows holding the plain secret = %d, %v", leaks, err)
		}
	})

	t.Run("replace tombstones removed names and skips unchanged", func(t *testing.T) {
		before, _ := db.PendingOutbox(ctx)
		next := map[string]store.Output{"vpcId": outs["vpcId"], "password": outs["password"]}
		if err := db.SetOutputs(ctx, "D1BRV40", "dev", "database", next); err != nil {
			t.Fatal(err)
		}
		got, _ := db.Outputs(ctx, "D1BRV40", "dev", "database")
		if !reflect.DeepEqual(got, next) {
			t.Errorf("Outputs = %v, want %v", got, next)
		}
		if after, _ := db.PendingOutbox(ctx); after-before != 2 {
			t.Errorf("outbox grew by %d, want 2 tombstones", after-before)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		other, err := store.Open(ctx, path, store.Options{KeyFile: filepath.Join(t.TempDir(), "other.key")})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		_, err = other.Outputs(ctx, "D1BRV40", "dev", "database")
		if !errors.Is(err, store.ErrSecretKey) {
			t.Fatalf("Outputs with another key = %v, want ErrSecretKey", err)
		}
		if !strings.Contains(err.Error(), "password") || !strings.Contains(err.Error(), "other.key") {
			t.Errorf("error %q should name the output and the key file", err)
		}
		if plain, err := other.Outputs(ctx, "D1BRV40", "dev", "network"); err != nil || plain["vpcId"].Value != "vpc-123" {
			t.Errorf("non-secret outputs with another key = %v, %v", plain, err)
		}
	})
}
