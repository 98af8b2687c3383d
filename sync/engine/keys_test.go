package engine_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/sync/engine"
)

func TestTableKeys(t *testing.T) {
	for _, tc := range []struct {
		entity, key, dep string
		pk, sk           string
	}{
		{"deployments", `["D1"]`, "", "d#D1", "deployment"},
		{"manifest_revisions", `["D1",7]`, "", "d#D1", "rev#00000007"},
		{"environments", `["D1","dev"]`, "", "d#D1", "env#dev"},
		{"deployment_stacks", `["D1","network"]`, "", "d#D1", "stack#network"},
		{"stack_states", `["D1","dev","network"]`, "", "d#D1", "state#dev#network"},
		{"outputs", `["D1","dev","network","vpcId"]`, "", "d#D1", "out#dev#network#vpcId"},
		{"operations", `["op-1"]`, "D1", "d#D1", "op#op-1"},
		{"operation_stacks", `["op-1","network"]`, "D1", "d#D1", "opstack#op-1#network"},
		{"events", `["op-1",42]`, "D1", "d#D1", "ev#op-1#0000000042"},
		{"deployment_templates", `["team"]`, "", "templates", "tmpl#team"},
		{"stack_templates", `["vpc"]`, "", "registry", "stack#vpc"},
		{"stack_template_history", `["vpc",3]`, "", "registry", "stackhist#vpc#00000003"},
	} {
		pk, sk, err := engine.TableKeys(tc.entity, json.RawMessage(tc.key), tc.dep)
		if err != nil || pk != tc.pk || sk != tc.sk {
			t.Errorf("TableKeys(%s, %s) = %q, %q, %v; want %q, %q", tc.entity, tc.key, pk, sk, err, tc.pk, tc.sk)
			continue
		}
		entity, key, err := engine.ParseTableKeys(pk, sk)
		if err != nil || entity != tc.entity || string(key) != tc.key {
			t.Errorf("ParseTableKeys(%q, %q) = %s %s %v", pk, sk, entity, key, err)
		}
	}
	for _, tc := range []struct{ entity, key, dep, want string }{
		{"environments", `["D1","de#v"]`, "", "contains '#'"},
		{"operations", `["op-1"]`, "D#1", "contains '#'"},
		{"operations", `["op-1"]`, "", "no deployment id"},
		{"events", `["op-1",12345678901]`, "D1", "out of range"},
		{"events", `["op-1","12"]`, "D1", "not a number"},
		{"environments", `["D1"]`, "", "want 2 values"},
		{"environments", `["D1",""]`, "", "empty"},
		{"nosuch", `["x"]`, "", "not synced"},
	} {
		if _, _, err := engine.TableKeys(tc.entity, json.RawMessage(tc.key), tc.dep); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("TableKeys(%s, %s, %q) = %v, want an error with %q", tc.entity, tc.key, tc.dep, err, tc.want)
		}
	}
	for _, k := range [][2]string{{"d#D1", "nosuch"}, {"d#D1", "rev#7"}, {"lock#D1#dev", "lock"}, {"registry", "stackhist#vpc"}} {
		if e, _, err := engine.ParseTableKeys(k[0], k[1]); err == nil {
			t.Errorf("ParseTableKeys(%q, %q) = %s, want an error", k[0], k[1], e)
		}
	}
}

func TestDeploymentOf(t *testing.T) {
	d, err := engine.DeploymentOf("events", json.RawMessage(`["op",1]`), json.RawMessage(`{"deployment_id":"D9"}`), nil)
	if err != nil || d != "D9" {
		t.Errorf("events: %q %v", d, err)
	}
	d, err = engine.DeploymentOf("operation_stacks", json.RawMessage(`["op-7","net"]`), nil, func(op string) (string, error) { return "D-" + op, nil })
	if err != nil || d != "D-op-7" {
		t.Errorf("operation_stacks: %q %v", d, err)
	}
	if _, err := engine.DeploymentOf("operations", json.RawMessage(`["op"]`), json.RawMessage(`{}`), nil); err == nil {
		t.Error("operations without deployment_id: no error")
	}
}

// FuzzTableKeys: whatever the key, TableKeys either refuses it or
// produces table keys that ParseTableKeys maps back to the same entity and
// key.
func FuzzTableKeys(f *testing.F) {
	f.Add("environments", "D1", "dev", int64(0))
	f.Add("events", "op-1", "x", int64(42))
	f.Add("stack_template_history", "vpc", "", int64(99999999))
	f.Add("outputs", "a#b", "c", int64(1))
	f.Fuzz(func(t *testing.T, entity, a, b string, n int64) {
		var key []any
		switch entity {
		case "deployments", "deployment_templates", "stack_templates", "operations":
			key = []any{a}
		case "environments", "deployment_stacks", "operation_stacks":
			key = []any{a, b}
		case "stack_states":
			key = []any{a, b, b + "x"}
		case "outputs":
			key = []any{a, b, "s", b}
		case "manifest_revisions", "events", "stack_template_history":
			key = []any{a, n}
		default:
			return
		}
		raw, err := json.Marshal(key)
		if err != nil {
			return
		}
		pk, sk, err := engine.TableKeys(entity, raw, "D1")
		if err != nil {
			return
		}
		got, gotKey, err := engine.ParseTableKeys(pk, sk)
		// Compared as values: JSON may spell one string two ways.
		var want, have any
		_ = json.Unmarshal(raw, &want)
		_ = json.Unmarshal(gotKey, &have)
		wj, _ := json.Marshal(want)
		hj, _ := json.Marshal(have)
		if err != nil || got != entity || string(wj) != string(hj) {
			t.Fatalf("%s %s -> %q %q -> %s %s %v", entity, raw, pk, sk, got, gotKey, err)
		}
	})
}
