package node

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/containerd/containers"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

func i64(v int64) *int64 { return &v }
func yes() *bool         { b := true; return &b }
func no() *bool          { b := false; return &b }

func TestSecurityOpts(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
		RunAsUser: i64(1000), RunAsGroup: i64(2000), SupplementalGroups: []int64{3000}, FSGroup: i64(4000)}}}
	c := &corev1.Container{SecurityContext: &corev1.SecurityContext{RunAsUser: i64(1001), ReadOnlyRootFilesystem: yes(),
		AllowPrivilegeEscalation: no(), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}}}
	opts, err := securityOpts(pod, c, "", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}}}, Root: &specs.Root{}}
	for _, o := range opts {
		if err := o(context.Background(), nil, &containers.Container{}, s); err != nil {
			t.Fatal(err)
		}
	}
	u := s.Process.User
	groups := map[uint32]bool{}
	for _, g := range u.AdditionalGids {
		groups[g] = true
	}
	if u.UID != 1001 || u.GID != 2000 || !groups[3000] || !groups[4000] {
		t.Errorf("user %+v", u)
	}
	if !s.Root.Readonly || !s.Process.NoNewPrivileges || strings.Join(s.Process.Capabilities.Effective, ",") != "CAP_NET_BIND_SERVICE" {
		t.Errorf("readonly %v nnp %v caps %v", s.Root.Readonly, s.Process.NoNewPrivileges, s.Process.Capabilities.Effective)
	}
	var se *securityError
	c = &corev1.Container{SecurityContext: &corev1.SecurityContext{RunAsNonRoot: yes()}}
	if _, err := securityOpts(&corev1.Pod{}, c, "", false); !errors.As(err, &se) || !strings.Contains(err.Error(), "image will run as root") {
		t.Errorf("runAsNonRoot with a root image: %v", err)
	}
	if _, err := securityOpts(&corev1.Pod{}, c, "1000", false); err != nil {
		t.Errorf("runAsNonRoot with a non-root image: %v", err)
	}
	c = &corev1.Container{SecurityContext: &corev1.SecurityContext{Privileged: yes()}}
	if _, err := securityOpts(&corev1.Pod{}, c, "", false); !errors.As(err, &se) || !strings.Contains(err.Error(), "--allow-privileged") {
		t.Errorf("privileged without --allow-privileged: %v", err)
	}
	if _, err := securityOpts(&corev1.Pod{}, c, "", true); err != nil {
		t.Errorf("privileged with --allow-privileged: %v", err)
	}
}
