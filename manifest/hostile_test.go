package manifest

import (
	"strings"
	"testing"
	"testing/fstest"
)

var smallLimits = Limits{MaxFileBytes: 4096, MaxCommitBytes: 8192, MaxObjects: 3}

func decodeErrors(t *testing.T, limits Limits, files ...File) []string {
	t.Helper()
	set, errs := DecodeWithLimits(files, limits)
	if set != nil || len(errs) == 0 {
		t.Fatal("hostile input accepted")
	}
	var out []string
	for _, e := range errs {
		if strings.Contains(e.Error(), "\n") {
			t.Errorf("error is not one line: %q", e)
		}
		out = append(out, e.Error())
	}
	return out
}

func TestHostileInput(t *testing.T) {
	bomb := "a: &a [x,x,x,x,x,x,x,x,x]\n"
	for c := 'b'; c <= 'j'; c++ {
		prev := string(c - 1)
		bomb += string(c) + ": &" + string(c) + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
	}
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec: {containers: [{name: c, image: i}]}\n"
	many := ""
	for i := 0; i < 4; i++ {
		many += "---\n" + strings.Replace(pod, "%d", string(rune('0'+i)), 1)
	}
	cases := []struct {
		name  string
		files []File
		want  string
	}{
		{"alias bomb", []File{{Name: "b.yaml", Data: []byte(bomb)}}, "b.yaml:1: invalid YAML: document contains excessive aliasing"},
		{"deep nesting", []File{{Name: "d.yaml", Data: []byte("a: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000))}}, "d.yaml:1: invalid YAML:"},
		{"invalid UTF-8", []File{{Name: "u.yaml", Data: []byte("a: b\nc: \xff\xfe\n")}}, "u.yaml:2: invalid UTF-8"},
		{"file too big", []File{{Name: "big.yaml", Data: []byte("a: " + strings.Repeat("x", 5000))}}, "big.yaml: file is 5003 bytes, over the limit of 4096"},
		{"commit too big", []File{{Name: "1.yaml", Data: []byte("#" + strings.Repeat("x", 4000))}, {Name: "2.yaml", Data: []byte("#" + strings.Repeat("x", 4000))}, {Name: "3.yaml", Data: []byte("#" + strings.Repeat("x", 4000))}},
			"(commit): manifests total 12003 bytes, over the limit of 8192"},
		{"too many objects", []File{{Name: "m.yaml", Data: []byte(many)}}, "(commit): 4 objects, over the limit of 3"},
		{"a list, not an object", []File{{Name: "l.yaml", Data: []byte("- a\n- b\n")}}, "l.yaml:1: not a Kubernetes object: a document must be a mapping"},
		{"undeclared namespace", []File{{Name: "p.yaml", Data: []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\n")}},
			`p.yaml:3: Pod/shop/p: metadata.namespace: namespace "shop" is not declared: add a Namespace manifest (document 0)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			limits := smallLimits
			if tc.name == "deep nesting" {
				limits = DefaultLimits()
			}
			errs := decodeErrors(t, limits, tc.files...)
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("errors %q do not contain %q", errs, tc.want)
			}
		})
	}
}

func TestEmptyDocumentsAreSkipped(t *testing.T) {
	data := "---\n# only a comment\n---\n\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
	set, errs := Decode([]File{{Name: "e.yaml", Data: []byte(data)}})
	if len(errs) > 0 || len(set.Namespaces) != 1 {
		t.Fatalf("set %+v errs %v", set, errs)
	}
}

func TestReadFSSkipsDotFolders(t *testing.T) {
	fsys := fstest.MapFS{
		"app/web.yaml":           {Data: []byte("a")},
		"app/.hidden/x.yaml":     {Data: []byte("b")},
		".github/workflows.yaml": {Data: []byte("c")},
		"app/README.md":          {Data: []byte("d")},
		"app/pod.json":           {Data: []byte("e")},
	}
	files, err := ReadFS(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "app/pod.json,app/web.yaml" {
		t.Errorf("read %v", names)
	}
	if !InDotDir(".github/a.yaml") || !InDotDir("a/.b/c.yaml") || InDotDir("a/.c.yaml") {
		t.Error("InDotDir")
	}
}

func TestLineOf(t *testing.T) {
	doc := []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: x\n  - name: b\n    image: y\n")
	for field, want := range map[string]int{
		"metadata.name":            4,
		"spec.containers[1].image": 10,
		"spec.containers[1]":       9,
		"spec.containers[5].name":  6, // off the document: the deepest step found
		"":                         1,
	} {
		if got := lineOf(doc, field); got != want {
			t.Errorf("lineOf(%q) = %d, want %d", field, got, want)
		}
	}
}
