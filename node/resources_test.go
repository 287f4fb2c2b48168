package node

import (
	"context"
	"testing"
	"time"

	"github.com/containerd/containerd/containers"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func res(req, lim map[corev1.ResourceName]string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for k, v := range req {
		r.Requests[k] = resource.MustParse(v)
	}
	for k, v := range lim {
		r.Limits[k] = resource.MustParse(v)
	}
	return r
}

func TestResourceOpts(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{}}
	r := res(map[corev1.ResourceName]string{"cpu": "250m"}, map[corev1.ResourceName]string{"cpu": "500m", "memory": "64Mi"})
	for _, o := range resourceOpts(r) {
		if err := o(context.Background(), nil, &containers.Container{}, s); err != nil {
			t.Fatal(err)
		}
	}
	lr := s.Linux.Resources
	if *lr.Memory.Limit != 64<<20 || *lr.CPU.Quota != 50000 || *lr.CPU.Period != 100000 || *lr.CPU.Shares != 256 {
		t.Errorf("memory %d quota %d period %d shares %d", *lr.Memory.Limit, *lr.CPU.Quota, *lr.CPU.Period, *lr.CPU.Shares)
	}
	s = &specs.Spec{Linux: &specs.Linux{}}
	for _, o := range resourceOpts(corev1.ResourceRequirements{}) {
		o(context.Background(), nil, &containers.Container{}, s)
	}
	if *s.Linux.Resources.CPU.Shares != 2 || s.Linux.Resources.Memory != nil {
		t.Errorf("best effort: %+v", s.Linux.Resources)
	}
}

func TestQOSClass(t *testing.T) {
	pod := func(rs ...corev1.ResourceRequirements) *corev1.Pod {
		p := &corev1.Pod{}
		for _, r := range rs {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Resources: r})
		}
		return p
	}
	full := res(map[corev1.ResourceName]string{"cpu": "1", "memory": "1Gi"}, map[corev1.ResourceName]string{"cpu": "1", "memory": "1Gi"})
	limitsOnly := res(nil, map[corev1.ResourceName]string{"cpu": "1", "memory": "1Gi"})
	for _, tc := range []struct {
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		{pod(corev1.ResourceRequirements{}), corev1.PodQOSBestEffort},
		{pod(full, limitsOnly), corev1.PodQOSGuaranteed},
		{pod(full, corev1.ResourceRequirements{}), corev1.PodQOSBurstable},
		{pod(res(map[corev1.ResourceName]string{"cpu": "1"}, nil)), corev1.PodQOSBurstable},
	} {
		if got := QOSClass(tc.pod); got != tc.want {
			t.Errorf("QOSClass = %s, want %s", got, tc.want)
		}
	}
}

func TestOOMWatchWaitsForALateEvent(t *testing.T) {
	w := newOOMWatch()
	go func() {
		w.mu.Lock()
		w.killed["c1"] = true
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}()
	if !w.wasKilled("c1", 137, 5*time.Second) {
		t.Error("a late OOM event was missed")
	}
	if w.wasKilled("c2", 1, time.Hour) {
		t.Error("exit 1 reported as OOMKilled")
	}
	if w.wasKilled("c3", 137, 10*time.Millisecond) {
		t.Error("a plain SIGKILL reported as OOMKilled")
	}
}
