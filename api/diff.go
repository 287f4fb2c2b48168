package api

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// FieldChange is one field that differs between two revisions of an
// object. Old or New is empty when the field is absent on that side.
type FieldChange struct {
	Object string `json:"object"`
	Field  string `json:"field"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// FieldDiff lists, field by field, how next differs from prev, as berth
// decoded them (defaults filled in). Objects only on one side show as one
// change with an empty field.
func FieldDiff(prev, next *ObjectSet) []FieldChange {
	before, after := prev.keyedObjects(), next.keyedObjects()
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []FieldChange
	for _, k := range sorted {
		a, inA := before[k]
		b, inB := after[k]
		switch {
		case !inA:
			out = append(out, FieldChange{Object: k, New: "(added)"})
		case !inB:
			out = append(out, FieldChange{Object: k, Old: "(removed)"})
		default:
			out = append(out, fieldChanges(k, flatten(a), flatten(b))...)
		}
	}
	return out
}

func fieldChanges(object string, a, b map[string]string) []FieldChange {
	fields := map[string]bool{}
	for f := range a {
		fields[f] = true
	}
	for f := range b {
		fields[f] = true
	}
	var names []string
	for f := range fields {
		if a[f] != b[f] {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	var out []FieldChange
	secret := strings.HasPrefix(object, "Secret/")
	for _, f := range names {
		c := FieldChange{Object: object, Field: f, Old: a[f], New: b[f]}
		if secret && (strings.HasPrefix(f, "data.") || strings.HasPrefix(f, "stringData.")) {
			c.Old, c.New = redacted(c.Old), redacted(c.New)
		}
		out = append(out, c)
	}
	return out
}

// Redacted stands for a Secret's value wherever berth shows objects.
const Redacted = "(redacted)"

func redacted(v string) string {
	if v == "" {
		return ""
	}
	return Redacted
}

// flatten maps every leaf field path of an object to its JSON value.
func flatten(v any) map[string]string {
	data, _ := json.Marshal(v)
	var doc any
	json.Unmarshal(data, &doc)
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		default:
			b, _ := json.Marshal(v)
			out[path] = string(b)
		}
	}
	walk("", doc)
	return out
}
