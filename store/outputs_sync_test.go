package store_test

import (
	"context"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

// TestForeignSealedOutputs: secret outputs are sealed with each replica's
// own key and synced as they are. A replica that pulled another's sealed
// output reads it as Sealed (no value) instead of failing the whole stack,
// and replaces it when it deploys the stack itself.
func TestForeignSealedOutputs(t *testing.T) {
	ctx := context.Background()
	a, _ := openStore(t)
	b, _ := openStore(t)
	saveDeployment(t, a)
	ship(t, a, b)
	if err := a.SetOutputs(ctx, "D1BRV40", "dev", "network", map[string]store.Output{
		"password": {Value: "s3cret", Secret: true}}); err != nil {
		t.Fatal(err)
	}
	ship(t, a, b)
	outs, err := b.Outputs(ctx, "D1BRV40", "dev", "network")
	if err != nil {
		t.Fatalf("b reading the outputs a deployed: %v", err)
	}
	if o := outs["password"]; !o.Sealed || !o.Secret || o.Value != nil {
		t.Errorf("a's secret on b: %+v, want sealed, secret, no value", o)
	}
	if err := b.SetOutputs(ctx, "D1BRV40", "dev", "network", map[string]store.Output{
		"password": {Value: "other", Secret: true}}); err != nil {
		t.Fatalf("b replacing the outputs a deployed: %v", err)
	}
	outs, err = b.Outputs(ctx, "D1BRV40", "dev", "network")
	if err != nil || outs["password"].Sealed || outs["password"].Value != "other" {
		t.Errorf("b's own secret: %+v, %v", outs["password"], err)
	}
}
