package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusValid decodes testdata/valid as one commit, as a repository
// would be read: every manifest there is valid.
func TestCorpusValid(t *testing.T) {
	files, err := ReadFS(os.DirFS("testdata/valid"), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("read %d files from testdata/valid", len(files))
	}
	set, errs := Decode(files)
	for _, e := range errs {
		t.Error(e)
	}
	if set == nil || len(set.Services) != 2 || len(set.Deployments) != 2 || len(set.StatefulSets) != 1 || len(set.CronJobs) != 1 || len(set.DaemonSets) != 1 {
		t.Errorf("objects: %+v", set)
	}
}

// TestCorpusInvalid decodes each file of testdata/invalid alone and
// compares every error with FILE.err, exactly. BERTH_UPDATE_CORPUS=1
// rewrites the .err files (read the diff before committing it).
func TestCorpusInvalid(t *testing.T) {
	paths, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(paths) == 0 {
		t.Fatal("no corpus")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			set, errs := Decode([]File{{Name: filepath.Base(p), Data: data}})
			if set != nil || len(errs) == 0 {
				t.Fatalf("accepted: %+v", set)
			}
			var lines []string
			for _, e := range errs {
				lines = append(lines, e.Error())
			}
			got := strings.Join(lines, "\n") + "\n"
			if os.Getenv("BERTH_UPDATE_CORPUS") != "" {
				os.WriteFile(p+".err", []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(p + ".err")
			if err != nil {
				t.Fatalf("%v (BERTH_UPDATE_CORPUS=1 writes it)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant (%s.err):\n%s", got, p, want)
			}
		})
	}
}
