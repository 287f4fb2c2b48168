package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// The folders of claims on a node: a local-path volume is a folder named
// after it in the agent's volumes/ folder; the claims of releases before
// v0.5.0 are in claims/<namespace>/<claim>, until they are adopted as
// volumes of the same folders.
const (
	volumesFolder = "volumes"
	claimsFolder  = "claims"
)

// claimVolumes indexes the assignment's bound volumes by claim key.
func claimVolumes(vols []corev1.PersistentVolume) map[string]*corev1.PersistentVolume {
	out := map[string]*corev1.PersistentVolume{}
	for i := range vols {
		if v := &vols[i]; v.DeletionTimestamp == nil && v.Status.Phase == corev1.VolumeBound {
			out[api.ClaimKey(v)] = v
		}
	}
	return out
}

// claimPath is the folder on this node of a pod's claim: its bound
// volume's (a local-path folder is made the first time; a static
// hostPath or local volume must be under a path the node allows), or
// the folder of a claim from before v0.5.0 when no volume is bound yet.
func claimPath(pod *corev1.Pod, claim string, cfg *configSet, node nodeInfo) (string, error) {
	pv := cfg.volumes[api.Key(pod.Namespace, claim)]
	switch {
	case pv == nil:
		return claimDir(node.claimsDir, pod.Namespace, claim)
	case pv.Spec.HostPath != nil:
		if err := checkHostPath(pv.Spec.HostPath, node.hostPaths); err != nil {
			return "", &configError{fmt.Sprintf("PersistentVolume %s: %v", pv.Name, err)}
		}
		return pv.Spec.HostPath.Path, nil
	case pv.Spec.Local == nil:
		return "", &configError{fmt.Sprintf("PersistentVolume %s has no hostPath or local path", pv.Name)}
	case pv.Annotations[api.AnnotationProvisionedBy] == "":
		p := pv.Spec.Local.Path
		if err := checkHostPath(&corev1.HostPathVolumeSource{Path: p}, node.hostPaths); err != nil {
			return "", &configError{fmt.Sprintf("PersistentVolume %s: %v", pv.Name, err)}
		}
		if _, err := os.Stat(p); err != nil {
			return "", &configError{fmt.Sprintf("PersistentVolume %s: local path: %v", pv.Name, err)}
		}
		return p, nil
	}
	dir, err := ownFolder(node.dataDir, pv.Spec.Local.Path)
	if err != nil {
		return "", &configError{fmt.Sprintf("PersistentVolume %s: %v", pv.Name, err)}
	}
	if node.localVolume != nil && pv.Annotations[api.AnnotationAdopted] == "" {
		return dir, node.localVolume(pv, dir)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o777)
}

// setUpLocalVolume makes a local-path volume's folder a filesystem of
// the claim's size (or, where that cannot be done, a plain folder), and
// reports which once per volume.
func (a *Agent) setUpLocalVolume(pv *corev1.PersistentVolume, dir string) error {
	size := pv.Spec.Capacity[corev1.ResourceStorage]
	why, err := mountSized(dir, size.Value())
	if err != nil {
		return fmt.Errorf("PersistentVolume %s: %w", pv.Name, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.reportedVolumes[pv.Name] {
		a.reportedVolumes[pv.Name] = true
		a.volumeReports = append(a.volumeReports, api.VolumeReport{Name: pv.Name, SizeEnforced: why == "", Reason: why})
		if why != "" {
			a.log.Warn("a volume's size is not enforced", "volume", pv.Name, "why", why)
		}
		a.wakeReporter()
	}
	return nil
}

// ownFolder checks that a provisioned volume's folder is one of this
// agent's: under its volumes/ or claims/ folder, and not that folder.
func ownFolder(dataDir, p string) (string, error) {
	if dataDir == "" {
		return "", errors.New("this agent keeps no volumes")
	}
	p = filepath.Clean(p)
	for _, f := range []string{volumesFolder, claimsFolder} {
		root := filepath.Join(dataDir, f)
		if rel, err := filepath.Rel(root, p); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not in this agent's %s/ or %s/ folder (%s)", p, volumesFolder, claimsFolder, dataDir)
}

// deleteVolumes removes the folders of this node's provisioned volumes
// that are being deleted (reclaim policy Delete, claim gone, no pod
// using it), each once, and reports each removed with the next status
// batch; the master then forgets the volume.
func (a *Agent) deleteVolumes(ctx context.Context, vols []corev1.PersistentVolume) {
	for i := range vols {
		v := vols[i].DeepCopy()
		if v.DeletionTimestamp == nil || api.VolumeNode(v) != a.cfg.Name || a.deletingVolumes[v.Name] {
			continue
		}
		a.deletingVolumes[v.Name] = true
		a.spawn(func() {
			err := a.removeVolumeFolder(v)
			a.mu.Lock()
			delete(a.deletingVolumes, v.Name)
			if err == nil {
				delete(a.reportedVolumes, v.Name)
				a.volumesDeleted = append(a.volumesDeleted, v.Name)
			}
			a.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				a.log.Error("cannot delete a volume's folder", "volume", v.Name, "err", err)
				a.queueEvent(api.NewEvent(volumeRef(v), corev1.EventTypeWarning, "VolumeFailedDelete", err.Error(), "local-path-provisioner", a.cfg.Name, a.now()))
				return
			}
			a.log.Info("deleted a volume's folder", "volume", v.Name, "path", v.Spec.Local.Path)
			a.wakeReporter()
		})
	}
}

// removeVolumeFolder removes a provisioned volume's folder.
func (a *Agent) removeVolumeFolder(v *corev1.PersistentVolume) error {
	if v.Annotations[api.AnnotationProvisionedBy] == "" || v.Spec.Local == nil {
		return nil // berth deletes only what it provisioned; the master marks no other
	}
	dir, err := ownFolder(a.cfg.DataDir, v.Spec.Local.Path)
	if err != nil {
		return err
	}
	if err := unmountSized(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// volumeRef refers to a PersistentVolume in an event.
func volumeRef(v *corev1.PersistentVolume) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolume", Name: v.Name, UID: v.UID}
}
