//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/client"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/raftstore"
)

// release is one entry of CHANGELOG.md.
type release struct{ version, commit string }

var releaseHeading = regexp.MustCompile(`^## (v[0-9][^ ]*) — [^ ]+ — commit ([0-9a-f]{7,40})\s*$`)

// previousRelease is the newest release in CHANGELOG.md older than the
// source's api.Version: the one a running cluster upgrades from.
func previousRelease(t testing.TB) release {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	var all []release
	for _, line := range strings.Split(string(data), "\n") {
		if m := releaseHeading.FindStringSubmatch(line); m != nil && api.NewerVersion(api.Version, m[1]) {
			all = append(all, release{m[1], m[2]})
		}
	}
	if len(all) == 0 {
		t.Fatalf("CHANGELOG.md lists no release older than %s (headings: ## vX.Y.Z — DATE — commit SHA)", api.Version)
	}
	sort.Slice(all, func(i, j int) bool { return api.NewerVersion(all[i].version, all[j].version) })
	return all[0]
}

// predatesTLS tells whether a release speaks plain HTTP and plain Raft
// (before v0.3.0, issue #17).
func predatesTLS(r release) bool { return api.NewerVersion("v0.3.0", r.version) }

// buildRelease builds berth and berth-logger at a release's commit into a
// temporary directory, from a detached `git worktree` of that commit
// (removed afterwards; the checkout under test is not touched), and
// returns the berth binary.
func buildRelease(t testing.TB, r release) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	worktree := exec.Command("git", "-C", moduleRoot, "worktree", "add", "--detach", src, r.commit)
	if out, err := worktree.CombinedOutput(); err != nil {
		t.Fatalf("checking out %s (commit %s): %v\n%s\n(the clone under test must hold that commit: a full clone, not a shallow one)", r.version, r.commit, err, out)
	}
	t.Cleanup(func() { // before the temporary directory goes
		if out, err := exec.Command("git", "-C", moduleRoot, "worktree", "remove", "--force", src).CombinedOutput(); err != nil {
			t.Errorf("removing the worktree of %s: %v\n%s", r.version, err, out)
		}
	})
	start := time.Now()
	for _, cmd := range []string{"berth", "berth-logger"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, cmd), "./cmd/"+cmd)
		build.Dir = src
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s of %s: %v\n%s", cmd, r.version, err, out)
		}
	}
	t.Logf("built %s (commit %s) in %v", r.version, r.commit, time.Since(start).Round(time.Second))
	return filepath.Join(dir, "berth")
}

// containersOf is each running container's process, and each pod's
// container IDs and start times as the API reports them.
type containersOf struct {
	pids    map[string]uint32 // containerd: container ID → process
	started map[string]string // API: pod/container → "ID started-at restarts"
}

func (h *ha) containers() containersOf {
	h.t.Helper()
	out := containersOf{pids: pidsOf(h.running()), started: map[string]string{}}
	for _, p := range h.pods() {
		for _, cs := range p.Status.ContainerStatuses {
			at := "-"
			if cs.State.Running != nil {
				at = cs.State.Running.StartedAt.UTC().Format(time.RFC3339)
			}
			out.started[p.Name+"/"+cs.Name] = fmt.Sprintf("%s %s restarts=%d", cs.ContainerID, at, cs.RestartCount)
		}
	}
	return out
}

// sameContainers fails unless every container of before runs on in after
// with the same ID, process and start time.
func sameContainers(t *testing.T, before, after containersOf) {
	t.Helper()
	keptPIDs(t, before.pids, after.pids)
	for k, v := range before.started {
		if after.started[k] != v {
			t.Errorf("container %s was %q before the upgrade, %q after", k, v, after.started[k])
		}
	}
}

// selfOf asks one master for its own view.
func (h *ha) selfOf(name string) (*api.SelfStatus, error) {
	cl := h.clientOf(name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return cl.Self(ctx)
}

// replaceMaster stops a master and starts bin on its data directory,
// then waits until it runs want and has caught up with the leader.
func (h *ha) replaceMaster(name, bin, want string) {
	h.t.Helper()
	h.masters[name].stop(syscall.SIGTERM)
	h.binary = bin
	h.startMaster(name)
	h.waitLeader()
	testutil.WaitFor(h.t, 60*time.Second, name+" on "+want+" and caught up", func() bool {
		s, err := h.selfOf(name)
		if err != nil || s.Version != want {
			return false
		}
		l, err := h.selfOf(h.leader())
		return err == nil && s.Index+5 >= l.Index
	})
}

// replaceAgent stops an agent and starts bin on its data directory; its
// node must be Ready again.
func (h *ha) replaceAgent(name, bin string) {
	h.t.Helper()
	h.agents[name].stop(syscall.SIGTERM)
	h.binary = bin
	h.startAgent(name)
}

// TestUpgradeInPlace: three masters and two agents of the previous
// release run pods; each master, then each agent, is replaced by this
// build, one at a time, with a commit made while the masters' releases
// are mixed. Afterwards every commit is in the revision log once and the
// newest is live, no container was restarted, the cluster runs the new
// format, and the masters' states are equal.
func TestUpgradeInPlace(t *testing.T) {
	prev := previousRelease(t)
	oldBin := buildRelease(t, prev)
	// Frequent snapshots: the new release restores the old one's.
	h := newHAUnstarted(t, 3, "10s", "--snapshot-threshold", "8", "--snapshot-interval", "200ms")
	h.binary, h.legacyCLI, h.plainOld = oldBin, oldBin, predatesTLS(prev)
	for _, name := range h.names {
		h.apis[name], h.rafts[name] = freeAddr(t), freeAddr(t)
	}
	h.startAll()
	h.startAgent("n1")
	h.startAgent("n2")
	// A StatefulSet's claim: on the previous release, a folder in the
	// agent's claims/ folder, which this release adopts as a bound volume.
	sha := h.commit("web and db on "+prev.version, map[string]string{"web.yaml": deployment("web", 4, "v1"), "db.yaml": statefulSetYAML(1)})
	h.waitCommit(sha, 0)
	before := h.containers()
	if len(before.pids) != 5 {
		t.Fatalf("running before the upgrade: %v", before.pids)
	}

	testutil.WaitFor(t, 30*time.Second, "a snapshot on every master of "+prev.version, func() bool {
		for _, name := range h.names {
			if s, err := h.selfOf(name); err != nil || s.Snapshot == 0 {
				return false
			}
		}
		return true
	})
	oldFormat := h.status().Format // the cluster's format on the previous release
	began := time.Now()
	order := []string{}
	for _, name := range h.names { // followers first, the leader last
		if name != h.leader() {
			order = append(order, name)
		}
	}
	order = append(order, h.leader())
	for i, name := range order {
		h.replaceMaster(name, berthBin, api.Version)
		if i == 0 { // masters of both releases: a commit goes live through them
			sha = h.commit("api during the roll", map[string]string{"api.yaml": deployment("api", 1, "v1"),
				"config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: mixed}\n"})
			h.waitCommit(sha, 0)
			if s := h.status(); s.Format != oldFormat {
				t.Errorf("cluster format %d while masters of %s vote; want theirs, %d", s.Format, prev.version, oldFormat)
			}
			if cidrs := h.podCIDRs(); oldFormat < raftstore.FormatPodCIDRs && len(cidrs) > 0 {
				t.Errorf("pod CIDRs given while masters of %s (format %d) vote: %v", prev.version, oldFormat, cidrs)
			}
		}
	}
	testutil.WaitFor(t, 30*time.Second, "the cluster's format turned on", func() bool {
		s, err := h.client.Status(context.Background(), 0, 0)
		return err == nil && s.Format == raftFormat(t, h)
	})
	t.Logf("rolling upgrade of three masters from %s to %s: %v", prev.version, api.Version, time.Since(began).Round(10*time.Millisecond))
	testutil.WaitFor(t, 30*time.Second, "a pod CIDR for each node once the format is on", func() bool { return len(h.podCIDRs()) == 2 })

	for _, n := range []string{"n1", "n2"} {
		h.replaceAgent(n, berthBin)
	}
	sha = h.commit("web after the upgrade", map[string]string{"config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: new}\n"})
	h.waitCommit(sha, 0)

	h.checkRevisionLog()
	after := h.containers()
	sameContainers(t, before, after)
	if len(after.pids) != 6 {
		t.Errorf("running after the upgrade: %d containers; want web's 4, db's 1 and api's 1", len(after.pids))
	}
	h.claimKept("default/data-db-0", api.NewerVersion("v0.5.0", prev.version))
	h.agreeOnState("")
	out, _ := h.berth("members")
	if strings.Count(out, api.Version) != 3 {
		t.Errorf("berth members does not show %s for every master:\n%s", api.Version, out)
	}
}

// claimKept checks that a StatefulSet's claim is bound to a volume that
// holds the file its pod wrote; from a release before v0.5.0 (adopted),
// a volume of the claim folder that release kept.
func (h *ha) claimKept(claim string, adopted bool) {
	h.t.Helper()
	var pv *corev1.PersistentVolume
	testutil.Await(h.t, 30*time.Second, func() error {
		var l corev1.PersistentVolumeList
		if err := h.client.List(h.ctx(), api.PathPersistentVolumes, "", &l); err != nil {
			return err
		}
		for i := range l.Items {
			if v := &l.Items[i]; api.ClaimKey(v) == claim && v.Status.Phase == corev1.VolumeBound {
				pv = v
				return nil
			}
		}
		return fmt.Errorf("no volume bound to claim %s: %d volumes", claim, len(l.Items))
	})
	ns, name, _ := strings.Cut(claim, "/")
	if pv.Spec.Local == nil || adopted && (pv.Annotations[api.AnnotationAdopted] != "true" || !strings.HasSuffix(pv.Spec.Local.Path, filepath.Join("claims", ns, name))) {
		h.t.Fatalf("volume of claim %s (adopted: %v): %s %+v", claim, adopted, pv.Name, pv.Spec.Local)
	}
	if _, err := os.Stat(filepath.Join(pv.Spec.Local.Path, "hello")); err != nil {
		h.t.Errorf("the adopted claim's file: %v", err)
	}
}

// podCIDRs is the pod CIDR of each node that has one.
func (h *ha) podCIDRs() map[string]string {
	h.t.Helper()
	nodes, err := h.client.Nodes(h.ctx())
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes.Items {
		if n.Spec.PodCIDR != "" {
			out[n.Name] = n.Spec.PodCIDR
		}
	}
	return out
}

// raftFormat is the format this build reads, as a master reports it.
func raftFormat(t *testing.T, h *ha) int {
	t.Helper()
	s, err := h.selfOf(h.names[0])
	if err != nil {
		t.Fatal(err)
	}
	return s.Format
}

// TestUpgradeBerthUp: `berth up` of the previous release, stopped, and
// started again by this build on the same data directory, adopts its
// pods without restarting them, keeps the revision log, and turns the
// new format on.
func TestUpgradeBerthUp(t *testing.T) {
	prev := previousRelease(t)
	oldBin := buildRelease(t, prev)
	c := newCluster(t)
	data := filepath.Join(c.dir, "up")
	up := func(bin string) *proc {
		return start(t, c.dir, "up-"+filepath.Base(filepath.Dir(bin)), bin, "up", "--repo", c.repo, "--data", data,
			"--listen", c.api, "--containerd", c.socket, "--import", imageTar)
	}
	c.master = up(oldBin)
	if predatesTLS(prev) {
		c.legacy, c.legacyCLI = []string{"http://" + c.api}, oldBin
		var err error
		if c.client, err = client.New(c.legacy, client.WithPlainHTTP()); err != nil {
			t.Fatal(err)
		}
	} else {
		c.credentials = data
		c.awaitCredentials([]string{c.api})
	}
	t.Cleanup(func() { removeNodeNetwork("node-0") })
	sha := c.commit("web on "+prev.version, map[string]string{"web.yaml": deployment("web", 2, "v1")})
	c.waitCommit(sha, 0)
	before := pidsOf(c.expectRunning(2))

	c.master.stop(syscall.SIGTERM)
	c.master = up(berthBin)
	c.legacy, c.credentials = nil, data // it makes the CA, the tokens and the admin kubeconfig
	c.awaitCredentials([]string{c.api})
	c.waitCommit(sha, 0)
	keptPIDs(t, before, pidsOf(c.expectRunning(2)))
	testutil.WaitFor(t, 30*time.Second, "format turned on and the master on "+api.Version, func() bool {
		s, err := c.client.Status(context.Background(), 0, 0)
		self, err2 := c.client.Self(context.Background())
		return err == nil && err2 == nil && s.Format == self.Format && len(s.Masters) == 1 && s.Masters[0].Version == api.Version
	})
	sha2 := c.commit("web x3 on "+api.Version, map[string]string{"web.yaml": deployment("web", 3, "v1")})
	c.waitCommit(sha2, 0)
	keptPIDs(t, before, pidsOf(c.expectRunning(3)))
	c.checkRevisionLog()
}
