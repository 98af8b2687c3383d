package rest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the OpenAPI 3.1 document of this API, written by hand in
// YAML (far easier to read and review than JSON) and served as JSON.
//
//go:embed openapi.yaml
var openAPIYAML []byte

var openAPIDoc = sync.OnceValues(func() ([]byte, error) { return yamlToJSON(openAPIYAML) })

// OpenAPI returns the OpenAPI document as JSON, as served at
// /api/v1/openapi.json.
func OpenAPI() ([]byte, error) { return openAPIDoc() }

func (a *api) openAPI(w http.ResponseWriter, r *http.Request) error {
	doc, err := openAPIDoc()
	if err != nil {
		return fmt.Errorf("openapi.yaml: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(doc)
	return nil
}

// yamlToJSON converts a YAML document to JSON keeping the order of keys
// (a generic map would sort them, putting "components" before "openapi").
func yamlToJSON(src []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := writeNode(&b, &doc); err != nil {
		return nil, err
	}
	var check any // the result must be JSON
	if err := json.Unmarshal([]byte(b.String()), &check); err != nil {
		return nil, fmt.Errorf("converted document is not JSON: %w", err)
	}
	return []byte(b.String()), nil
}

func writeNode(b *strings.Builder, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document", n.Line)
		}
		return writeNode(b, n.Content[0])
	case yaml.AliasNode:
		return writeNode(b, n.Alias)
	case yaml.MappingNode:
		b.WriteByte('{')
		pairs, err := mappingPairs(n)
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			k, v := pairs[i], pairs[i+1]
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k.Value)
			b.Write(kb)
			b.WriteByte(':')
			if err := writeNode(b, v); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeNode(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			v, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return fmt.Errorf("line %d: %q is not a boolean", n.Line, n.Value)
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return fmt.Errorf("line %d: %w", n.Line, err)
			}
			nb, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("line %d: %w", n.Line, err)
			}
			b.Write(nb)
		default:
			sb, _ := json.Marshal(n.Value)
			b.Write(sb)
		}
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

// mappingPairs returns a mapping's keys and values with merge keys
// (<<: *anchor) expanded in place; a key given again overrides the merged
// one, as YAML says.
func mappingPairs(n *yaml.Node) ([]*yaml.Node, error) {
	var out []*yaml.Node
	seen := map[string]int{}
	add := func(k, v *yaml.Node, override bool) {
		if i, ok := seen[k.Value]; ok {
			if override {
				out[i+1] = v
			}
			return
		}
		seen[k.Value] = len(out)
		out = append(out, k, v)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a key must be a scalar", k.Line)
		}
		if k.ShortTag() != "!!merge" {
			add(k, v, true)
			continue
		}
		for v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: a merge key needs a mapping", k.Line)
		}
		merged, err := mappingPairs(v)
		if err != nil {
			return nil, err
		}
		for j := 0; j+1 < len(merged); j += 2 {
			add(merged[j], merged[j+1], false)
		}
	}
	return out, nil
}
