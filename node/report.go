package node

import (
	"context"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// reportInterval batches status changes: every report that changed within
// it goes to the master in one request (and one Raft entry).
const reportInterval = 100 * time.Millisecond

// publish queues a pod's report if it differs from the last one sent.
// Workers publish on every sync, so the comparison is of structs: encoding
// each report in JSON to compare took 12-18% of the hollow nodes' CPU in
// B2. reflect.DeepEqual can only be stricter than the API's semantic
// equality (which is 16 times slower on a pod): at worst a report too many.
func (a *Agent) publish(r api.PodReport) {
	a.mu.Lock()
	if last, ok := a.sent[r.UID]; ok && reflect.DeepEqual(last, r) {
		a.mu.Unlock()
		return
	}
	a.pending[r.UID] = r
	a.mu.Unlock()
	a.wakeReporter()
}

// wakeReporter tells the report loop there is something to send.
func (a *Agent) wakeReporter() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// maxPendingEvents bounds the events an agent holds while the master is
// unreachable; the oldest go first.
const maxPendingEvents = 1000

// event records an event about a pod, as the kubelet does, to be sent
// with the next status batch.
func (a *Agent) event(pod *corev1.Pod, typ, reason, msg string) {
	a.queueEvent(api.NewEvent(api.PodRef(pod), typ, reason, msg, "kubelet", a.cfg.Name, a.now()))
}

// queueEvent queues an event for the next status batch.
func (a *Agent) queueEvent(e corev1.Event) {
	a.mu.Lock()
	a.events = append(a.events, e)
	if over := len(a.events) - maxPendingEvents; over > 0 {
		a.events = append([]corev1.Event(nil), a.events[over:]...)
	}
	a.mu.Unlock()
	a.wakeReporter()
}

// reportRetry is how long the report loop waits after a failed report.
const reportRetry = time.Second

// reportLoop sends queued reports in batches, keeping them on failure to
// send again after reportRetry.
func (a *Agent) reportLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		}
		select { // let a burst of changes gather
		case <-ctx.Done():
			return
		case <-time.After(reportInterval):
		}
		a.mu.Lock()
		batch := &api.StatusBatch{Node: a.cfg.Name, Events: a.events, VolumesDeleted: a.volumesDeleted, Volumes: a.volumeReports,
			Conditions: a.nodeConditions}
		a.volumesDeleted, a.volumeReports, a.nodeConditions = nil, nil, nil
		for _, r := range a.pending {
			batch.Reports = append(batch.Reports, r)
		}
		a.pending = map[string]api.PodReport{}
		a.events = nil
		a.mu.Unlock()
		if len(batch.Reports) == 0 && len(batch.Events) == 0 && len(batch.VolumesDeleted) == 0 && len(batch.Volumes) == 0 &&
			batch.Conditions == nil {
			continue
		}
		if err := a.client.Report(ctx, batch); err != nil {
			a.log.Warn("status report failed; will retry", "err", err, "pods", len(batch.Reports))
			a.requeue(batch.Reports, batch.Events)
			a.mu.Lock()
			a.volumesDeleted = append(batch.VolumesDeleted, a.volumesDeleted...)
			a.volumeReports = append(batch.Volumes, a.volumeReports...)
			if a.nodeConditions == nil {
				a.nodeConditions = batch.Conditions
			}
			a.mu.Unlock()
			if !sleep(ctx, reportRetry) {
				return
			}
			a.wakeReporter()
			continue
		}
		a.mu.Lock()
		for _, r := range batch.Reports {
			a.sent[r.UID] = r
			if r.Removed {
				delete(a.sent, r.UID)
			}
		}
		a.mu.Unlock()
	}
}

// requeue puts back the reports and events of a batch that failed,
// behind any newer report of the same pod.
func (a *Agent) requeue(rs []api.PodReport, events []corev1.Event) {
	a.mu.Lock()
	a.events = append(events, a.events...)
	for _, r := range rs {
		if _, newer := a.pending[r.UID]; !newer {
			a.pending[r.UID] = r
		}
	}
	a.mu.Unlock()
}

// machineMemory reads MemTotal from /proc/meminfo (1 GiB if unreadable).
func machineMemory() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 1 << 30
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return kb * 1024
			}
		}
	}
	return 1 << 30
}
