//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/benchrow"
)

// userHZ is the unit of the CPU times in /proc: 100 ticks per second on
// every Linux architecture Go supports.
const userHZ = 100

// cpuUse is CPU time in seconds, used by the whole machine and by each
// process (with its name, /proc/PID/comm) alive when it was taken.
type cpuUse struct {
	machine float64
	pids    map[int]string
	byPID   map[int]float64
}

// takeCPU reads the machine's busy time from /proc/stat and every
// process's user and system time from /proc/PID/stat.
func takeCPU() cpuUse {
	u := cpuUse{pids: map[int]string{}, byPID: map[int]float64{}}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])
		for i, v := range f[1:] {
			if i == 3 || i == 4 { // idle and iowait
				continue
			}
			n, _ := strconv.ParseFloat(v, 64)
			u.machine += n / userHZ
		}
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		data, err := os.ReadFile(d)
		if err != nil {
			continue // exited
		}
		s := string(data)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(s[closing+1:])
		if len(f) < 13 { // fields 14 and 15 of the file: utime, stime
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		name := s[open+1 : closing]
		u.pids[pid], u.byPID[pid] = name, (ut+st)/userHZ
	}
	return u
}

// cpuSince is the CPU time used between then and now: the machine's, and
// by name that of processes alive now (all of the time of those started
// since then). Processes that ended in between count only in machine.
func cpuSince(then, now cpuUse) (machine float64, byName map[string]float64) {
	byName = map[string]float64{}
	for pid, name := range now.pids {
		used := now.byPID[pid]
		if then.pids[pid] == name {
			used -= then.byPID[pid]
		}
		byName[name] += used
	}
	return now.machine - then.machine, byName
}

// machineSince is the machine's CPU time used since u was taken.
func (u cpuUse) machineSince() float64 { return takeCPU().machine - u.machine }

// pushCPU is where the CPU time of each push to live went, and the
// machine's CPU time of each floor run: on two cores starting containers
// is CPU-bound, so whatever berth spends adds to the wait.
type pushCPU struct {
	machine, berth, loggers, containerd, floor []float64
}

// add records the CPU time used since before, by the machine and by
// berth's master and agent, its log copiers and containerd with its shims.
func (p *pushCPU) add(before cpuUse) {
	machine, byName := cpuSince(before, takeCPU())
	p.machine = append(p.machine, machine)
	p.berth = append(p.berth, byName["berth"])
	p.loggers = append(p.loggers, byName["berth-logger"])
	p.containerd = append(p.containerd, byName["containerd"]+byName["containerd-shim"])
}

// record writes the medians as rows of id.
func (p *pushCPU) record(b *testing.B, id string, replicas int) {
	work := fmt.Sprintf("CPU seconds from /proc during each push of %d replicas; %d runs", replicas, len(p.machine))
	for _, r := range []struct {
		name string
		v    []float64
	}{
		{"CPU of the push: machine", p.machine},
		{"CPU of the push: berth master and agent", p.berth},
		{"CPU of the push: berth-logger processes", p.loggers},
		{"CPU of the push: containerd and its shims", p.containerd},
		{"CPU of the floor: machine", p.floor},
	} {
		if len(r.v) == 0 {
			continue
		}
		v := append([]float64(nil), r.v...)
		sort.Float64s(v)
		benchrow.Record(b, benchrow.Row{ID: id, Name: r.name + ", median", Value: v[len(v)/2], Unit: "CPU-s", Better: "lower", Work: work})
	}
}
