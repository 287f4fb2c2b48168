// Package testutil holds what the unit tests of several packages share:
// waiting for a condition with a deadline instead of sleeping.
package testutil

import (
	"testing"
	"time"
)

// WaitFor polls cond every 10 ms until it holds, and fails the test
// when within passes first, naming what it waited for.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
