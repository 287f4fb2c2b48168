// Package testutil holds what the tests of several packages share:
// waiting for a condition with a deadline instead of sleeping.
package testutil

import (
	"errors"
	"testing"
	"time"
)

// WaitFor polls cond until it holds (as Await does), and fails the test
// when within passes first, naming what it waited for.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	Await(t, within, func() error {
		if !cond() {
			return errors.New("waiting for " + what)
		}
		return nil
	})
}

// Await polls check until it returns nil, and fails the test with the
// last error check returned when within passes first. It polls every
// 10 ms at first, then less often, up to every 100 ms: a check may be
// costly (a CLI run, a containerd listing).
func Await(t testing.TB, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %v", within, err)
		}
		time.Sleep(pause)
	}
}
