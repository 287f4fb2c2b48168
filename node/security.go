package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	corev1 "k8s.io/api/core/v1"
)

// securityError is a security context the node refuses to run; the
// kubelet shows such errors as CreateContainerConfigError.
type securityError struct{ msg string }

func (e *securityError) Error() string { return e.msg }

// effectiveIDs merges the pod's and the container's security contexts (the
// container's wins).
func effectiveIDs(pod *corev1.Pod, c *corev1.Container) (uid, gid *int64, nonRoot *bool) {
	if psc := pod.Spec.SecurityContext; psc != nil {
		uid, gid, nonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
	}
	return uid, gid, nonRoot
}

// securityOpts applies the pod's and the container's security contexts
// through containerd's OCI spec options. imageUser is the image's USER.
func securityOpts(pod *corev1.Pod, c *corev1.Container, imageUser string, allowPrivileged bool) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	uid, gid, nonRoot := effectiveIDs(pod, c)
	if nonRoot != nil && *nonRoot {
		switch {
		case uid != nil && *uid == 0:
			return nil, &securityError{"container's runAsUser breaks non-root policy (runAsNonRoot and runAsUser 0)"}
		case uid == nil && rootUser(imageUser):
			return nil, &securityError{fmt.Sprintf("container has runAsNonRoot and image will run as root (image user %q)", imageUser)}
		}
	}
	switch {
	case uid != nil && gid != nil:
		opts = append(opts, oci.WithUIDGID(uint32(*uid), uint32(*gid)))
	case uid != nil:
		opts = append(opts, oci.WithUserID(uint32(*uid)))
	case gid != nil:
		opts = append(opts, withGID(uint32(*gid)))
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		var groups []uint32
		for _, g := range psc.SupplementalGroups {
			groups = append(groups, uint32(g))
		}
		if psc.FSGroup != nil {
			groups = append(groups, uint32(*psc.FSGroup))
		}
		if len(groups) > 0 {
			opts = append(opts, withAdditionalGIDs(groups))
		}
	}
	sc := c.SecurityContext
	if sc == nil {
		return opts, nil
	}
	if sc.Privileged != nil && *sc.Privileged {
		if !allowPrivileged {
			return nil, &securityError{"privileged containers are not allowed on this node (start the agent with --allow-privileged)"}
		}
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	if caps := sc.Capabilities; caps != nil {
		for _, d := range caps.Drop {
			if strings.EqualFold(string(d), "ALL") {
				opts = append(opts, oci.WithCapabilities(nil))
			}
		}
		opts = append(opts, oci.WithDroppedCapabilities(capNames(caps.Drop)), oci.WithAddedCapabilities(capNames(caps.Add)))
	}
	return opts, nil
}

func rootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "" || name == "0" || name == "root"
}

// capNames turns Kubernetes' capability names (NET_ADMIN) into the kernel's
// (CAP_NET_ADMIN); ALL is handled by the caller.
func capNames(caps []corev1.Capability) []string {
	var out []string
	for _, c := range caps {
		name := strings.ToUpper(string(c))
		if name == "ALL" {
			continue
		}
		if !strings.HasPrefix(name, "CAP_") {
			name = "CAP_" + name
		}
		out = append(out, name)
	}
	return out
}

func withGID(gid uint32) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.User.GID = gid
		return nil
	}
}

func withAdditionalGIDs(gids []uint32) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, gids...)
		return nil
	}
}
