// Package benchrow records the figures of berth's benchmark suite (make
// bench) as rows that cmd/benchtable prints as one table and writes as
// JSON: each benchmark appends its rows, one JSON object per line, to the
// file named by $BERTH_BENCH_ROWS.
package benchrow

import (
	"encoding/json"
	"os"
	"testing"
)

// EnvFile names the file rows are appended to; without it rows are only
// logged.
const EnvFile = "BERTH_BENCH_ROWS"

// Row is one figure of the suite.
type Row struct {
	// ID is the figure's id in issue #8 (B1, B1b, B2, …).
	ID   string `json:"id"`
	Name string `json:"name"`
	// Value is the figure in Unit; Target the goal (0: none), reached
	// when Value is lower (Better "lower") or higher ("higher").
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target float64 `json:"target,omitempty"`
	Better string  `json:"better"`
	// Work says what was measured (sizes, runs).
	Work string `json:"work,omitempty"`
}

// Record logs the row and appends it to $BERTH_BENCH_ROWS, if set.
func Record(tb testing.TB, r Row) {
	tb.Helper()
	tb.Logf("%s %s: %.3g %s (%s)", r.ID, r.Name, r.Value, r.Unit, r.Work)
	path := os.Getenv(EnvFile)
	if path == "" {
		return
	}
	data, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Fatalf("%s=%s: %v", EnvFile, path, err)
	}
	defer f.Close()
	if _, err := f.Write(append(data, '\n')); err != nil {
		tb.Fatalf("%s=%s: %v", EnvFile, path, err)
	}
}
