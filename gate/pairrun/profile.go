package pairrun

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// setProfile applies PATH=VALUE settings to a profile's YAML: a dotted
// path of mapping keys (services.reaction.write_cost), created where
// missing, set to VALUE read as a YAML scalar. Comments are kept.
func setProfile(data []byte, sets []string) ([]byte, error) {
	if len(sets) == 0 {
		return data, nil
	}
	doc, err := parseMapping(data)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("%q: want PATH=VALUE", s)
		}
		var v yaml.Node
		if err := yaml.Unmarshal([]byte(value), &v); err != nil || len(v.Content) != 1 || v.Content[0].Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%q: the value must be one YAML scalar", s)
		}
		node := doc.Content[0]
		keys := strings.Split(path, ".")
		for i, k := range keys {
			next := mappingValue(node, k)
			if next == nil {
				next = &yaml.Node{Kind: yaml.MappingNode}
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, next)
			}
			if i == len(keys)-1 {
				*next = *v.Content[0]
				break
			}
			if next.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%q: %s is not a mapping", s, strings.Join(keys[:i+1], "."))
			}
			node = next
		}
	}
	return yaml.Marshal(doc)
}

// mappingValue is the value of key in mapping m, nil when absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// dropProfileKey removes a top-level key from a profile's YAML. The runs
// get their profile without gate:, which only the gate reads: a base older
// than the head's gate: fields still runs it.
func dropProfileKey(data []byte, key string) ([]byte, error) {
	doc, err := parseMapping(data)
	if err != nil {
		return nil, err
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			break
		}
	}
	return yaml.Marshal(doc)
}

// parseMapping parses a profile's YAML, keeping its comments: a document
// whose one node is a mapping.
func parseMapping(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the profile is not a YAML mapping")
	}
	return &doc, nil
}
