package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Entities that never change once written: they are pushed in batches
// (PutAppendOnly) and applied once.
var appendOnly = map[string]bool{"events": true, "stack_template_history": true}

// IsAppendOnly reports whether rows of entity never change once written.
func IsAppendOnly(entity string) bool { return appendOnly[entity] }

// keyShape describes how one entity's local key maps to the table's keys.
type keyShape struct {
	// parts is how many values the local key has.
	parts int
	// sk builds the sort key from the key values (as text).
	sk func(k []string) string
	// pk is the partition: fixed, or from the deployment id.
	pk string
	// byDeployment: the partition is d#<deploymentId>; depIndex is the
	// key value holding it, -1 when it must come from elsewhere.
	byDeployment bool
	depIndex     int
	// numeric lists the key values that are integers (zero-padded in the
	// sort key, numbers in the local JSON key), with their widths.
	numeric map[int]int
}

var shapes = map[string]keyShape{
	"deployments":          {parts: 1, byDeployment: true, depIndex: 0, sk: func(k []string) string { return "deployment" }},
	"manifest_revisions":   {parts: 2, byDeployment: true, depIndex: 0, numeric: map[int]int{1: 8}, sk: func(k []string) string { return "rev#" + k[1] }},
	"environments":         {parts: 2, byDeployment: true, depIndex: 0, sk: func(k []string) string { return "env#" + k[1] }},
	"deployment_stacks":    {parts: 2, byDeployment: true, depIndex: 0, sk: func(k []string) string { return "stack#" + k[1] }},
	"stack_states":         {parts: 3, byDeployment: true, depIndex: 0, sk: func(k []string) string { return "state#" + k[1] + "#" + k[2] }},
	"outputs":              {parts: 4, byDeployment: true, depIndex: 0, sk: func(k []string) string { return "out#" + k[1] + "#" + k[2] + "#" + k[3] }},
	"operations":           {parts: 1, byDeployment: true, depIndex: -1, sk: func(k []string) string { return "op#" + k[0] }},
	"operation_stacks":     {parts: 2, byDeployment: true, depIndex: -1, sk: func(k []string) string { return "opstack#" + k[0] + "#" + k[1] }},
	"events":               {parts: 2, byDeployment: true, depIndex: -1, numeric: map[int]int{1: 10}, sk: func(k []string) string { return "ev#" + k[0] + "#" + k[1] }},
	"deployment_templates": {parts: 1, pk: "templates", sk: func(k []string) string { return "tmpl#" + k[0] }},
	"stack_templates":      {parts: 1, pk: "registry", sk: func(k []string) string { return "stack#" + k[0] }},
	"stack_template_history": {parts: 2, pk: "registry", numeric: map[int]int{1: 8},
		sk: func(k []string) string { return "stackhist#" + k[0] + "#" + k[1] }},
}

// TableKeys returns the table keys (pk, sk) of a local row: entity and
// its key, a JSON array as the outbox records it. depID is the row's
// deployment when the key does not hold it (operations, operation_stacks,
// events: see DeploymentOf); it is ignored otherwise.
//
// Key components are refused when they contain '#' (the separator) or are
// empty: names come from validated identifiers, so a '#' means a bug or a
// hand-edited database, and escaping it would only hide that. Integers
// are zero-padded (revisions and versions to 8 digits, event sequence
// numbers to 10) so sort keys sort as numbers.
func TableKeys(entity string, key json.RawMessage, depID string) (pk, sk string, err error) {
	sh, ok := shapes[entity]
	if !ok {
		return "", "", fmt.Errorf("sync: entity %q is not synced", entity)
	}
	vals, err := keyStrings(entity, key, sh)
	if err != nil {
		return "", "", err
	}
	pk = sh.pk
	if sh.byDeployment {
		if sh.depIndex >= 0 {
			depID = vals[sh.depIndex]
		}
		if depID == "" {
			return "", "", fmt.Errorf("sync: %s %s: no deployment id for its partition", entity, key)
		}
		if strings.Contains(depID, "#") {
			return "", "", fmt.Errorf("sync: %s %s: deployment id %q contains '#'", entity, key, depID)
		}
		pk = "d#" + depID
	}
	return pk, sh.sk(vals), nil
}

// keyStrings decodes a JSON key into its components as text, checking
// their number, their characters and the integers' ranges.
func keyStrings(entity string, key json.RawMessage, sh keyShape) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(key))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("sync: %s key %s: %w", entity, key, err)
	}
	if len(raw) != sh.parts {
		return nil, fmt.Errorf("sync: %s key %s: want %d values, have %d", entity, key, sh.parts, len(raw))
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		if width, isNum := sh.numeric[i]; isNum {
			n, ok := v.(json.Number)
			if !ok {
				return nil, fmt.Errorf("sync: %s key %s: value %d is not a number", entity, key, i+1)
			}
			iv, err := n.Int64()
			if err != nil || iv < 0 || len(strconv.FormatInt(iv, 10)) > width {
				return nil, fmt.Errorf("sync: %s key %s: value %d out of range (0 to %d digits)", entity, key, i+1, width)
			}
			out[i] = fmt.Sprintf("%0*d", width, iv)
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("sync: %s key %s: value %d is not a string", entity, key, i+1)
		}
		if s == "" {
			return nil, fmt.Errorf("sync: %s key %s: value %d is empty", entity, key, i+1)
		}
		if strings.Contains(s, "#") {
			return nil, fmt.Errorf("sync: %s key %s: %q contains '#', the table keys' separator", entity, key, s)
		}
		out[i] = s
	}
	return out, nil
}

// ParseTableKeys is TableKeys' inverse: the entity and local key (JSON
// array, integers as numbers) of table keys pk, sk. Items carry their
// entity and key as attributes, which the engine uses; this exists so the
// mapping is checked both ways (and for tools reading the table).
func ParseTableKeys(pk, sk string) (entity string, key json.RawMessage, err error) {
	bad := func() (string, json.RawMessage, error) {
		return "", nil, fmt.Errorf("sync: table keys %q/%q match no synced entity", pk, sk)
	}
	kind, rest, _ := strings.Cut(sk, "#")
	parts := strings.Split(rest, "#")
	var vals []any
	switch {
	case strings.HasPrefix(pk, "d#"):
		dep := pk[2:]
		switch {
		case sk == "deployment":
			entity, vals = "deployments", []any{dep}
		case kind == "rev" && len(parts) == 1:
			entity, vals = "manifest_revisions", []any{dep, parts[0]}
		case kind == "env" && len(parts) == 1:
			entity, vals = "environments", []any{dep, parts[0]}
		case kind == "stack" && len(parts) == 1:
			entity, vals = "deployment_stacks", []any{dep, parts[0]}
		case kind == "state" && len(parts) == 2:
			entity, vals = "stack_states", []any{dep, parts[0], parts[1]}
		case kind == "out" && len(parts) == 3:
			entity, vals = "outputs", []any{dep, parts[0], parts[1], parts[2]}
		case kind == "op" && len(parts) == 1:
			entity, vals = "operations", []any{parts[0]}
		case kind == "opstack" && len(parts) == 2:
			entity, vals = "operation_stacks", []any{parts[0], parts[1]}
		case kind == "ev" && len(parts) == 2:
			entity, vals = "events", []any{parts[0], parts[1]}
		default:
			return bad()
		}
	case pk == "templates" && kind == "tmpl" && len(parts) == 1:
		entity, vals = "deployment_templates", []any{parts[0]}
	case pk == "registry" && kind == "stack" && len(parts) == 1:
		entity, vals = "stack_templates", []any{parts[0]}
	case pk == "registry" && kind == "stackhist" && len(parts) == 2:
		entity, vals = "stack_template_history", []any{parts[0], parts[1]}
	default:
		return bad()
	}
	sh := shapes[entity]
	for i, v := range vals {
		s := v.(string)
		if s == "" {
			return bad()
		}
		if width, isNum := sh.numeric[i]; isNum {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || len(s) != width || n < 0 {
				return bad()
			}
			vals[i] = n
		}
	}
	b, err := json.Marshal(vals)
	return entity, b, err
}

// DeploymentOf returns the deployment id a row's partition needs when its
// key does not hold it: operations and events carry deployment_id in their
// payload; operation_stacks rows do not, and lookupOp (the local store's
// operations table) gives it from the operation id — an operation_stacks
// row is always written after its operation, in the same store, so the
// operation is there. Other entities return "".
func DeploymentOf(entity string, key, payload json.RawMessage, lookupOp func(opID string) (string, error)) (string, error) {
	switch entity {
	case "operations", "events":
		var p struct {
			DeploymentID string `json:"deployment_id"`
		}
		if err := json.Unmarshal(payload, &p); err != nil || p.DeploymentID == "" {
			return "", fmt.Errorf("sync: %s %s: payload has no deployment_id", entity, key)
		}
		return p.DeploymentID, nil
	case "operation_stacks":
		var k []any
		if err := json.Unmarshal(key, &k); err != nil || len(k) != 2 {
			return "", fmt.Errorf("sync: operation_stacks key %s: want [operation, stack]", key)
		}
		op, _ := k[0].(string)
		if lookupOp == nil {
			return "", fmt.Errorf("sync: operation_stacks %s: no way to find its operation's deployment", key)
		}
		return lookupOp(op)
	}
	return "", nil
}
