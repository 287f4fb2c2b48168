// Command benchtable prints the rows the benchmark suite recorded (see
// internal/benchrow) as one table, with the machine they ran on, adds the
// ratio of each push-to-live figure to its floor, and with BENCH_JSON=FILE
// writes the rows as a JSON array.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/berth-dev/berth/internal/benchrow"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtable ROWS_FILE")
		os.Exit(2)
	}
	rows, err := read(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	rows = latest(rows)
	rows = append(rows, ratios(rows)...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	print(rows)
	if path := os.Getenv("BENCH_JSON"); path != "" {
		data, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable: BENCH_JSON:", err)
			os.Exit(1)
		}
	}
}

func read(path string) ([]benchrow.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []benchrow.Row
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		var r benchrow.Row
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, r)
	}
	return rows, s.Err()
}

// latest keeps the last row of each figure, in the order figures first
// appear: go test runs a benchmark once with b.N = 1 before the real run.
func latest(rows []benchrow.Row) []benchrow.Row {
	at := map[string]int{}
	var out []benchrow.Row
	for _, r := range rows {
		key := r.ID + "\x00" + r.Name
		if i, ok := at[key]; ok {
			out[i] = r
			continue
		}
		at[key] = len(out)
		out = append(out, r)
	}
	return out
}

// ratios adds push-to-live / floor for B1 and B1b, whose targets are
// ratios (1.3 and 1.1).
func ratios(rows []benchrow.Row) []benchrow.Row {
	find := func(id, name string) *benchrow.Row {
		for i := range rows {
			if rows[i].ID == id && rows[i].Name == name {
				return &rows[i]
			}
		}
		return nil
	}
	var out []benchrow.Row
	for _, c := range []struct {
		id     string
		target float64
	}{{"B1", 1.3}, {"B1b", 1.1}} {
		live, floor := find(c.id, "push to live, median"), find(c.id, "floor: containerd client, median")
		if live != nil && floor != nil && floor.Value > 0 {
			out = append(out, benchrow.Row{ID: c.id, Name: "push to live / floor", Value: live.Value / floor.Value,
				Unit: "x", Target: c.target, Better: "lower", Work: "push to live and the floor without a pod network"})
		}
		// Since pods have their own network (issue #16), the floor that
		// does the same work is the one with a CNI ADD per container.
		netFloor := find(c.id, "floor: containerd client, pod network, median")
		if live != nil && netFloor != nil && netFloor.Value > 0 {
			out = append(out, benchrow.Row{ID: c.id, Name: "push to live / floor with pod network", Value: live.Value / netFloor.Value,
				Unit: "x", Target: c.target, Better: "lower", Work: "push to live and the floor with a CNI ADD per container"})
		}
	}
	return out
}

func print(rows []benchrow.Row) {
	fmt.Printf("berth benchmark suite on %s\n\n", machine())
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tFIGURE\tVALUE\tTARGET\tMET\tWORK")
	for _, r := range rows {
		target, met := "-", "-"
		if r.Target != 0 {
			target = fmt.Sprintf("%s %s %s", map[string]string{"lower": "<=", "higher": ">="}[r.Better], number(r.Target), r.Unit)
			ok := (r.Better == "lower" && r.Value <= r.Target) || (r.Better == "higher" && r.Value >= r.Target)
			met = map[bool]string{true: "yes", false: "NO"}[ok]
		}
		fmt.Fprintf(w, "%s\t%s\t%s %s\t%s\t%s\t%s\n", r.ID, r.Name, number(r.Value), r.Unit, target, met, r.Work)
	}
	w.Flush()
}

// number prints a figure with three significant digits, without exponent.
func number(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// machine describes the machine: CPU model, cores, memory, kernel.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(strings.SplitN(string(data), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d cores%s, Linux %s", model, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)))
}
