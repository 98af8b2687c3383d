package manifest

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Marshal writes m as canonical YAML: fields in a fixed order, stacks and
// environments in m's order, config keys sorted, defaults (program equal to
// the stack name, empty fields) left out. Parse reads the result back to an
// equal manifest.
func Marshal(m *Manifest) ([]byte, error) {
	root := mapNode()
	str := func(key, v string) {
		if v != "" {
			addPair(root, key, strNode(v))
		}
	}
	str("version", m.Version)
	str("deployment_id", m.DeploymentID)
	str("organization", m.Organization)
	str("project", m.Project)
	str("domain", m.Domain)
	str("pulumiOrg", m.PulumiOrg)
	str("backend", m.Backend)
	str("template", m.Template)
	str("created_at", m.CreatedAt)
	if len(m.Metadata) > 0 {
		v, err := valueNode(m.Metadata)
		if err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
		addPair(root, "metadata", v)
	}
	if len(m.Environments) > 0 {
		envs := mapNode()
		for _, e := range m.Environments {
			n := mapNode()
			addPair(n, "enabled", boolNode(e.Enabled))
			if e.Region != "" {
				addPair(n, "region", strNode(e.Region))
			}
			if e.AccountID != "" {
				addPair(n, "account_id", strNode(e.AccountID))
			}
			if e.Protected != nil {
				addPair(n, "protected", boolNode(*e.Protected))
			}
			addPair(envs, e.Name, n)
		}
		addPair(root, "environments", envs)
	}
	if len(m.Stacks) > 0 {
		stacks := mapNode()
		for _, s := range m.Stacks {
			n, err := stackNode(s)
			if err != nil {
				return nil, fmt.Errorf("stack %s: %w", s.Name, err)
			}
			addPair(stacks, s.Name, n)
		}
		addPair(root, "stacks", stacks)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return buf.Bytes(), nil
}

func stackNode(s *Stack) (*yaml.Node, error) {
	n := mapNode()
	if s.Program != s.Name {
		addPair(n, "program", strNode(s.Program))
	}
	addPair(n, "enabled", boolNode(s.Enabled))
	if len(s.Dependencies) > 0 {
		deps := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, d := range s.Dependencies {
			deps.Content = append(deps.Content, strNode(d))
		}
		addPair(n, "dependencies", deps)
	}
	if s.Layer != nil {
		addPair(n, "layer", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(*s.Layer)})
	}
	if len(s.Config) > 0 {
		v, err := valueNode(s.Config)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		addPair(n, "config", v)
	}
	if len(s.Environments) > 0 {
		envs := mapNode()
		for _, name := range sortedKeys(s.Environments) {
			e := mapNode()
			if o := s.Environments[name]; o != nil {
				if o.Enabled != nil {
					addPair(e, "enabled", boolNode(*o.Enabled))
				}
				if len(o.Config) > 0 {
					v, err := valueNode(o.Config)
					if err != nil {
						return nil, fmt.Errorf("environments.%s.config: %w", name, err)
					}
					addPair(e, "config", v)
				}
			}
			if len(e.Content) == 0 {
				e.Style = yaml.FlowStyle
			}
			addPair(envs, name, e)
		}
		addPair(n, "environments", envs)
	}
	return n, nil
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

// strNode is tagged !!str so that the encoder quotes text that would
// otherwise read back as a number, boolean, null or timestamp.
func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func addPair(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, strNode(key), v)
}

// valueNode converts a config value (the types Parse produces) to a node.
func valueNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case string:
		return strNode(v), nil
	case bool:
		return boolNode(v), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%v is not a finite number", v)
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		// Whole numbers are tagged !!int, or the encoder would write "!!float 3".
		tag := "!!float"
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			tag = "!!int"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}, nil
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if len(v) == 0 {
			n.Style = yaml.FlowStyle
		}
		for i, e := range v {
			en, err := valueNode(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			n.Content = append(n.Content, en)
		}
		return n, nil
	case map[string]any:
		n := mapNode()
		if len(v) == 0 {
			n.Style = yaml.FlowStyle
		}
		for _, k := range sortedKeys(v) {
			en, err := valueNode(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			addPair(n, k, en)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported config value of type %T", v)
}
