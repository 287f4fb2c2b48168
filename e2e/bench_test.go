//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/benchrow"
	"github.com/berth-dev/berth/node/network"
)

// report adds the median and p90 of the runs to the benchmark's figures.
func report(b *testing.B, what string, times []time.Duration) {
	reportAs(b, "", what, times)
}

// reportAs is report with a prefix on the figures' units, for a benchmark
// that measures two things.
func reportAs(b *testing.B, prefix, what string, times []time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(times[len(times)/2].Seconds(), prefix+"median-s")
	b.ReportMetric(times[(len(times)*9)/10].Seconds(), prefix+"p90-s")
	b.Logf("%s, %d runs: %v", what, len(times), times)
}

// recordTimes reports the runs and records their median (against target,
// in seconds; 0 for none) and, unless median only, their p90 as rows of
// the suite's table.
func recordTimes(b *testing.B, id, name, work string, target float64, medianOnly bool, times []time.Duration) {
	prefix := ""
	if strings.HasPrefix(name, "floor") {
		prefix = "floor-"
	}
	reportAs(b, prefix, work, times)
	work = fmt.Sprintf("%s; %d runs", work, len(times))
	benchrow.Record(b, benchrow.Row{ID: id, Name: name + ", median", Value: times[len(times)/2].Seconds(), Unit: "s", Target: target, Better: "lower", Work: work})
	if !medianOnly {
		benchrow.Record(b, benchrow.Row{ID: id, Name: name + ", p90", Value: times[(len(times)*9)/10].Seconds(), Unit: "s", Better: "lower", Work: work})
	}
}

// pushRows names the rows of push-to-live and its floor by size: B1 is 10
// replicas, B1b 100 on one node.
var pushRows = map[int]string{10: "B1", 100: "B1b"}

// BenchmarkPushToLive measures the time from `git commit` of a Deployment
// to `berth wait` exiting 0, on real containerd. Each iteration deploys a
// new Deployment from nothing; its removal is not timed. For B1 and B1b
// each iteration also measures the floor (floorRun) on the same
// containerd just before, so that the ratio compares runs taken moments
// apart: this machine's floor moves by half from one minute to the next.
func BenchmarkPushToLive(b *testing.B) {
	for _, replicas := range []int{3, 10, 100} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			c := newCluster(b)
			c.startMaster()
			c.startAgent()
			id := pushRows[replicas]
			var times, floors, netFloors []time.Duration
			var cpu pushCPU
			var podNet *network.Network
			if id != "" {
				podNet = floorNetwork(b, c)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if id != "" {
					b.StopTimer()
					took, used := floorRun(b, c, replicas, i, nil)
					floors, cpu.floor = append(floors, took), append(cpu.floor, used)
					took, _ = floorRun(b, c, replicas, i, podNet)
					netFloors = append(netFloors, took)
					b.StartTimer()
				}
				name := fmt.Sprintf("bench%d.yaml", i)
				before := takeCPU()
				start := time.Now()
				sha := c.commit(fmt.Sprintf("bench %d", i), map[string]string{name: deployment(fmt.Sprintf("bench%d", i), replicas, "v1")})
				c.waitCommit(sha, 0)
				times = append(times, time.Since(start))
				b.StopTimer()
				cpu.add(before)
				c.waitCommit(c.commit("clean", map[string]string{name: ""}), 0)
				c.expectRunning(0)
				b.StartTimer()
			}
			work := fmt.Sprintf("git commit -> berth wait, Deployment of %d replicas, real containerd", replicas)
			if id == "" {
				report(b, work, times)
				return
			}
			recordTimes(b, id, "push to live", work, 0, false, times)
			floorWork := fmt.Sprintf("containerd Go client, the same %d containers created and started in parallel, each run just before one of push to live", replicas)
			recordTimes(b, id, "floor: containerd client", floorWork, 0, true, floors)
			recordTimes(b, id, "floor: containerd client, pod network", floorWork+", each in a fresh network namespace with the agent's CNI ADD (bridge, host-local, loopback)", 0, true, netFloors)
			cpu.record(b, id, replicas)
		})
	}
}

// floorRun starts n containers of the sample image directly through the
// containerd client of a running cluster (without the agent's node label,
// so the agent leaves them alone), removes them, and returns how long
// starting them took and the machine's CPU seconds meanwhile. With a pod
// network, each container first gets a fresh network namespace and the
// same CNI ADD an agent's pod gets, in parallel too.
func floorRun(b *testing.B, c *cluster, n, run int, podNet *network.Network) (time.Duration, float64) {
	ctx := c.ctx()
	img, err := c.ctr.GetImage(ctx, "docker.io/library/kubia:v1")
	if err != nil {
		b.Fatal(err)
	}
	prefix := fmt.Sprintf("floor-%d", run)
	if podNet != nil {
		prefix = fmt.Sprintf("floornet-%d", run)
	}
	before := takeCPU()
	took, err := startParallelIn(ctx, c, img, n, prefix, podNet)
	used := before.machineSince()
	removeAll(ctx, c.ctr, fmt.Sprintf("id~=%q", "^"+prefix+"-"))
	if podNet != nil {
		for j := 0; j < n; j++ {
			podNet.Remove(ctx, fmt.Sprintf("%s-%d", prefix, j))
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	return took, used
}

// floorNetwork is a pod network beside the agent's, on its own bridge
// and range, for the floor with CNI; the bench's cleanup removes it.
func floorNetwork(b *testing.B, c *cluster) *network.Network {
	n, err := network.New(network.Config{Node: "floor", PodCIDR: netip.MustParsePrefix("10.249.0.0/24"), DataDir: filepath.Join(c.dir, "floor")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { removeNodeNetwork("floor") })
	return n
}

// BenchmarkContainerdFloor measures the floor under push-to-live alone:
// the same containers created and started directly through the
// containerd Go client, in parallel, with nothing of berth in the way.
// The suite's B1 rows take the floor inside BenchmarkPushToLive instead.
func BenchmarkContainerdFloor(b *testing.B) {
	for _, n := range []int{3, 10, 100} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			c, img := imageCluster(b)
			ctx := c.ctx()
			var times []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				took, err := startParallel(ctx, c, img, n, fmt.Sprintf("floor-%d", i))
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, took)
				b.StopTimer()
				removeAll(ctx, c.ctr)
				b.StartTimer()
			}
			report(b, fmt.Sprintf("containerd Go client, the same %d containers created and started in parallel", n), times)
		})
	}
}

// imageCluster is containerd with the sample image imported (by an agent
// that then stops), for the floor benchmarks.
func imageCluster(b *testing.B) (*cluster, containerd.Image) {
	c := newCluster(b)
	c.startMaster()
	c.startAgent() // imports the image
	c.agent.stop(syscall.SIGTERM)
	img, err := c.ctr.GetImage(c.ctx(), "docker.io/library/kubia:v1")
	if err != nil {
		b.Fatal(err)
	}
	return c, img
}

// startParallel creates and starts n containers of the image at once
// through the containerd client and returns how long that took, and the
// first error.
func startParallel(ctx context.Context, c *cluster, img containerd.Image, n int, prefix string, extra ...containerd.NewContainerOpts) (time.Duration, error) {
	return startParallelIn(ctx, c, img, n, prefix, nil, extra...)
}

// startParallelIn is startParallel with, given a pod network, each
// container in a pod network of its own (made in the timed part).
func startParallelIn(ctx context.Context, c *cluster, img containerd.Image, n int, prefix string, podNet *network.Network, extra ...containerd.NewContainerOpts) (time.Duration, error) {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for j := 0; j < n; j++ {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			netns := oci.WithHostNamespace(specs.NetworkNamespace)
			if podNet != nil {
				p, err := podNet.Add(ctx, id, id)
				if err != nil {
					errs <- err
					return
				}
				netns = oci.Compose(oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: p.Namespace}),
					oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.UTSNamespace, Path: p.UTS}),
					oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: p.IPC}))
			}
			errs <- startDirect(ctx, c.ctr, img, id, c.dir, netns, extra...)
		}(fmt.Sprintf("%s-%d", prefix, j))
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			return took, err
		}
	}
	return took, nil
}

func startDirect(ctx context.Context, client *containerd.Client, img containerd.Image, id, dir string, netns oci.SpecOpts, extra ...containerd.NewContainerOpts) error {
	opts := append([]containerd.NewContainerOpts{containerd.WithImage(img), containerd.WithNewSnapshot(id, img),
		containerd.WithNewSpec(oci.WithImageConfig(img), netns,
			oci.WithProcessArgs("/app", "-listen", "127.0.0.1:0"))}, extra...)
	ctr, err := client.NewContainer(ctx, id, opts...)
	if err != nil {
		return err
	}
	task, err := ctr.NewTask(ctx, cio.LogFile(dir+"/"+id+".log"))
	if err != nil {
		return err
	}
	if _, err := task.Wait(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	return task.Start(ctx)
}

// removeAll removes the containers that match the filters (all of them
// without one), with their tasks and snapshots.
func removeAll(ctx context.Context, client *containerd.Client, filters ...string) {
	cs, _ := client.Containers(ctx, filters...)
	for _, ct := range cs {
		if task, err := ct.Task(ctx, nil); err == nil {
			task.Delete(ctx, containerd.WithProcessKill)
		}
		ct.Delete(ctx, containerd.WithSnapshotCleanup)
	}
}

// BenchmarkFloorVariants (B1c) measures what the floor itself could gain,
// for 10 containers started in parallel through the containerd client:
// one runc v2 shim for all of them (the shim groups containers that share
// the label io.containerd.runc.v2.group, as a pod's containers could)
// instead of one per container, and crun (Debian's package, when
// installed) instead of runc as the OCI runtime.
func BenchmarkFloorVariants(b *testing.B) {
	const n = 10
	type variant struct {
		name string
		opts func(run int) []containerd.NewContainerOpts
		// optional variants that cannot run here are skipped with the
		// reason (crun refuses cgroup v1/v2 hybrid hosts).
		optional bool
	}
	variants := []variant{
		{"runc, one shim per container", func(int) []containerd.NewContainerOpts { return nil }, false},
		{"runc, one shim for all", func(run int) []containerd.NewContainerOpts {
			return []containerd.NewContainerOpts{containerd.WithAdditionalContainerLabels(map[string]string{"io.containerd.runc.v2.group": fmt.Sprintf("floor-%d", run)})}
		}, false},
	}
	if _, err := exec.LookPath("crun"); err == nil {
		variants = append(variants, variant{"crun, one shim per container", func(int) []containerd.NewContainerOpts {
			return []containerd.NewContainerOpts{containerd.WithRuntime("io.containerd.runc.v2", &runcoptions.Options{BinaryName: "crun"})}
		}, true})
	} else {
		b.Log("crun is not installed (apt-get install crun): its variant is skipped")
	}
	c, img := imageCluster(b)
	ctx := c.ctx()
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			var times []time.Duration
			for i := 0; i < b.N; i++ {
				took, err := startParallel(ctx, c, img, n, fmt.Sprintf("variant-%d", i), v.opts(i)...)
				if err != nil && v.optional {
					removeAll(ctx, c.ctr)
					b.Skipf("%s cannot run containers on this machine: %v", v.name, err)
				}
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, took)
				b.StopTimer()
				removeAll(ctx, c.ctr)
				b.StartTimer()
			}
			recordTimes(b, "B1c", "floor variant: "+v.name, fmt.Sprintf("%d containers in parallel, containerd Go client", n), 0, true, times)
		})
	}
}
