package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

// TestDB_OperationStackConfig: the resolved config of a stack run is sealed
// at rest, read back whole, and kept by later transitions that do not carry
// it.
func TestDB_OperationStackConfig(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	saveDeployment(t, db)
	op := beginOp(t, db)
	cfg := json.RawMessage(`{"password":{"value":"hunter2","secret":true},"cidr":{"value":"10.0.0.0/16"}}`)
	if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "network", Status: "deployed", Config: cfg}, nil, nil); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := rawDB(t, path).QueryRow(`SELECT config FROM operation_stacks WHERE operation_id = ?`, op.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "hunter2") || strings.Contains(raw, "10.0.0.0") {
		t.Errorf("config stored in clear: %s", raw)
	}
	if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "network", Status: "deployed", Reason: "later"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	stacks, err := db.OperationStacks(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(stacks[0].Config), string(cfg); got != want {
		t.Errorf("config read back = %s, want %s", got, want)
	}
}
