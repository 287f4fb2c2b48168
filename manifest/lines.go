package manifest

import (
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// lineOf finds the line (1-based, within the document) of a field path
// such as "spec.template.spec.containers[0].image". sigs.k8s.io/yaml keeps
// no positions, so the document is parsed again as YAML nodes. When the
// path leads off the document it returns the line of the deepest step
// found; 0 when the document does not parse.
func lineOf(doc []byte, field string) int {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(doc, &root); err != nil || len(root.Content) == 0 {
		return 0
	}
	node := root.Content[0]
	line := node.Line
	for _, step := range pathSteps(field) {
		next, at := child(node, step)
		if next == nil {
			break
		}
		node, line = next, at
	}
	return line
}

// pathSteps splits "a.b[2].c" into "a", "b", "[2]", "c".
func pathSteps(field string) []string {
	var steps []string
	for _, part := range strings.Split(field, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			switch {
			case i < 0:
				steps = append(steps, part)
				part = ""
			case i > 0:
				steps = append(steps, part[:i])
				part = part[i:]
			default:
				j := strings.IndexByte(part, ']')
				if j < 0 {
					return steps
				}
				steps = append(steps, part[:j+1])
				part = part[j+1:]
			}
		}
	}
	return steps
}

// child follows one step from a node and returns the node and its line.
func child(n *yamlv3.Node, step string) (*yamlv3.Node, int) {
	for n.Kind == yamlv3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == step {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case yamlv3.SequenceNode:
		if idx, err := strconv.Atoi(strings.Trim(step, "[]")); err == nil && strings.HasPrefix(step, "[") && idx >= 0 && idx < len(n.Content) {
			return n.Content[idx], n.Content[idx].Line
		}
	}
	return nil, 0
}
