package api

import (
	"testing"
	"time"
)

// TestHeartbeatPace: up to 1,250 nodes the configured timeout stands; a
// cluster of 5,000 is asked for a heartbeat every 10 s and given 40 s, as
// Kubernetes' node leases are.
func TestHeartbeatPace(t *testing.T) {
	for _, c := range []struct {
		nodes              int
		timeout            time.Duration
		interval, timeout2 time.Duration
	}{
		{1, 3 * time.Second, 2 * time.Millisecond, 3 * time.Second},
		{1000, 10 * time.Second, 2 * time.Second, 10 * time.Second},
		{1250, 10 * time.Second, 2500 * time.Millisecond, 10 * time.Second},
		{2500, 10 * time.Second, 5 * time.Second, 20 * time.Second},
		{5000, 10 * time.Second, 10 * time.Second, 40 * time.Second},
		{5000, time.Minute, 10 * time.Second, time.Minute},
	} {
		interval, timeout := HeartbeatPace(c.nodes, c.timeout)
		if interval != c.interval || timeout != c.timeout2 {
			t.Errorf("HeartbeatPace(%d, %v) = %v, %v; want %v, %v", c.nodes, c.timeout, interval, timeout, c.interval, c.timeout2)
		}
	}
}
