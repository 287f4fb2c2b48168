package raftstore

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestWireSchemaIsRecorded: the Go types that the entries and snapshots
// of the current format are made of, field by field, are those recorded
// for it in testdata/schema/format-N.txt. A field added to any of them
// (a type of api/, or of k8s.io/api after upgrading that module) is one a
// master of the previous release would drop, or halt on: such a change
// needs a new format, written only once the cluster has turned it on
// (DESIGN.md, "Upgrades").
func TestWireSchemaIsRecorded(t *testing.T) {
	got := wireSchema()
	file := filepath.Join("testdata", "schema", fmt.Sprintf("format-%d.txt", Format))
	if os.Getenv("BERTH_SCHEMA_WRITE") != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no schema recorded for format %d (%v): a new format records its schema with BERTH_SCHEMA_WRITE=1 go test ./raftstore -run TestWireSchema", Format, err)
	}
	if got == string(want) {
		return
	}
	t.Errorf("the wire schema of format %d changed; a master of an older release would not read what changed:\n%s\n"+
		"Raise raftstore.Format, write the change only once the cluster's format has it (ClusterFormat, ErrFormatOff), "+
		"and record the new format's schema with BERTH_SCHEMA_WRITE=1 go test ./raftstore -run TestWireSchema", Format, lineDiff(string(want), got))
}

// wireSchema lists every struct type reachable from the entry bodies of
// this format and from the snapshot, and each of its JSON fields on a
// line of its own: "TYPE NAME GO-TYPE OPTIONS".
func wireSchema() string {
	roots := []reflect.Type{reflect.TypeOf(snapshotFile{})}
	for _, k := range entryKinds {
		if k.format <= Format {
			roots = append(roots, reflect.TypeOf(k.body()).Elem())
		}
	}
	seen := map[reflect.Type]bool{}
	var lines []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			if t.Kind() == reflect.Map {
				walk(t.Key())
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || isLeaf(t) {
			return
		}
		seen[t] = true
		typ := t.PkgPath() + "." + t.Name()
		lines = append(lines, typ)
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				name = "(embedded)"
			}
			lines = append(lines, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", typ, name, f.Type, opts)))
			walk(f.Type)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// isLeaf tells a type that encodes itself (times, quantities): its
// fields are not its JSON.
func isLeaf(t reflect.Type) bool {
	m := reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	return t.Implements(m) || reflect.PointerTo(t).Implements(m)
}

// lineDiff lists the lines only in want (-) and only in got (+); the
// lines of a schema are unique.
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var out []string
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
