package api

import (
	"runtime/debug"
	"strconv"
	"strings"
)

// Version is the berth release this source is, or will be cut as. It
// moves only when a release is written in CHANGELOG.md; between
// releases it names the next one with a "-dev" suffix. What masters of
// different releases can exchange is decided by raftstore.Format, not by
// this string.
const Version = "v0.6.0-dev"

// commit is the commit the binary was built from, when the build says
// (make build sets it with -ldflags -X).
var commit string

// BuildInfo is what `berth version` prints: the release, and the commit
// and Go version the binary was built from when the build recorded them
// (make build does, and so does `go build` in a Git checkout unless
// -buildvcs=false).
func BuildInfo() string {
	out := "berth " + Version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	rev := commit
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && rev == "":
			rev = s.Value[:min(12, len(s.Value))]
		case s.Key == "vcs.modified" && s.Value == "true" && commit == "":
			rev += "+modified"
		}
	}
	if rev != "" {
		out += " (commit " + rev + ")"
	}
	return out + " " + info.GoVersion
}

// NewerVersion reports whether release a is newer than release b; both
// read "vMAJOR.MINOR.PATCH", with an optional "-pre" suffix that sorts
// before the release itself ("v0.2.0-dev" < "v0.2.0").
func NewerVersion(a, b string) bool {
	pa, pb := parseVersion(a), parseVersion(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] > pb[i]
		}
	}
	return false
}

// parseVersion reads "v1.2.3" into {1, 2, 3, 1}; the last number is 0
// for a pre-release ("v1.2.3-dev"). Build metadata ("+x") is ignored.
func parseVersion(v string) [4]int {
	out := [4]int{3: 1}
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "+")
	v, pre, _ := strings.Cut(v, "-")
	if pre != "" {
		out[3] = 0
	}
	for i, part := range strings.SplitN(v, ".", 3) {
		n, _ := strconv.Atoi(part)
		out[i] = n
	}
	return out
}
