package reconciler

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/berth-dev/berth/api"
)

// storage is one pass's view of claims and volumes, as Kubernetes' PV
// controller and the scheduler's volume binding see them: the claims (in
// Git, and those StatefulSets made), the volume records and the static
// volumes of Git. It binds claims to volumes, provisions local-path
// volumes on the node a claim's first pod is scheduled to, and releases
// the volumes of claims that are gone and that no pod uses. What it
// decides becomes the plan's Volumes and ForgetVolumes.
type storage struct {
	now     time.Time
	nodes   map[string]*api.Node
	classes []storagev1.StorageClass
	claims  map[string]*corev1.PersistentVolumeClaim // by key
	records map[string]*corev1.PersistentVolume      // by name, as the plan leaves them
	static  []corev1.PersistentVolume                // Git's
	inGit   map[string]bool                          // static volume names
	bound   map[string]*corev1.PersistentVolume      // claim key to its Bound volume
	legacy  map[string]string                        // Input.Claims: claim to node
	users   map[string]string                        // claim to a pod on a node that uses it
	dirty   map[string]bool                          // records the plan changes
	forget  []string
}

// Volume phases' messages and the scheduler's reasons about claims.
const (
	reasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
	reasonNoStorageDir     = "node(s) cannot provision local-path volumes (their agent is older than v0.5.0)"
	reasonNoVolumeOnNode   = "node(s) didn't find available persistent volumes to bind"
	reasonClaimInUse       = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"
)

// newStorage indexes the input's claims and volumes (nil when the cluster
// does not record them yet: Input.Storage is false).
func newStorage(in *Input, desired *api.ObjectSet, now time.Time) *storage {
	if !in.Storage {
		return nil
	}
	s := &storage{now: now, nodes: map[string]*api.Node{}, classes: desired.StorageClassesWithBuiltin(),
		claims: map[string]*corev1.PersistentVolumeClaim{}, records: map[string]*corev1.PersistentVolume{},
		static: desired.PersistentVolumes, inGit: map[string]bool{}, bound: map[string]*corev1.PersistentVolume{},
		legacy: in.Claims, users: map[string]string{}, dirty: map[string]bool{}}
	for i := range in.Pods {
		if p := &in.Pods[i]; p.Spec.NodeName != "" && (p.DeletionTimestamp != nil || !finished(p)) {
			s.use(p)
		}
	}
	for i := range in.Nodes {
		s.nodes[in.Nodes[i].Name] = &in.Nodes[i]
	}
	for i := range in.PVCs {
		s.addClaim(&in.PVCs[i])
	}
	for i := range desired.PersistentVolumeClaims {
		c := desired.PersistentVolumeClaims[i].DeepCopy()
		c.UID = types.UID(ObjectUID("PersistentVolumeClaim", c.Namespace, c.Name))
		s.addClaim(c)
	}
	for i := range desired.PersistentVolumes {
		s.inGit[desired.PersistentVolumes[i].Name] = true
	}
	for i := range in.Volumes {
		v := &in.Volumes[i]
		s.records[v.Name] = v
		if v.Status.Phase == corev1.VolumeBound && v.DeletionTimestamp == nil {
			s.bound[api.ClaimKey(v)] = v
		}
	}
	return s
}

func (s *storage) addClaim(c *corev1.PersistentVolumeClaim) {
	s.claims[api.Key(c.Namespace, c.Name)] = c
}

// use records that a pod on a node uses its claims.
func (s *storage) use(p *corev1.Pod) {
	for _, key := range api.ClaimsOf(p) {
		if s.users[key] == "" {
			s.users[key] = api.PodKey(p)
		}
	}
}

// onePodOnly reports whether a claim asks that one pod at a time use it.
func onePodOnly(c *corev1.PersistentVolumeClaim) bool {
	return slices.Contains(c.Spec.AccessModes, corev1.ReadWriteOncePod)
}

// class is the StorageClass a claim asks for (nil: none, or a class of
// that name does not exist).
func (s *storage) class(c *corev1.PersistentVolumeClaim) *storagev1.StorageClass {
	name := ClaimClass(c, s.classes)
	for i := range s.classes {
		if s.classes[i].Name == name && name != "" {
			return &s.classes[i]
		}
	}
	return nil
}

// waits reports whether a claim binds only once a pod that uses it is
// scheduled (its class's volumeBindingMode is WaitForFirstConsumer).
func waits(sc *storagev1.StorageClass) bool {
	return sc != nil && sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
}

// candidates are Git's volumes that no record holds yet.
func (s *storage) candidates() []corev1.PersistentVolume {
	var out []corev1.PersistentVolume
	for _, v := range s.static {
		if s.records[v.Name] == nil {
			out = append(out, v)
		}
	}
	return out
}

// bindImmediate binds each unbound claim of an Immediate class (or of no
// class) to a static volume that fits it, at once.
func (s *storage) bindImmediate() {
	for _, key := range sortedKeys(s.claims) {
		c := s.claims[key]
		if s.bound[key] != nil || waits(s.class(c)) {
			continue
		}
		if pv, _ := MatchVolume(c, ClaimClass(c, s.classes), s.candidates(), nil); pv != nil {
			s.bind(c, pv)
		}
	}
}

// bind records a volume as bound to a claim.
func (s *storage) bind(c *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) *corev1.PersistentVolume {
	rec := pv.DeepCopy()
	rec.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: c.Namespace, Name: c.Name, UID: c.UID}
	rec.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, LastPhaseTransitionTime: &metav1.Time{Time: s.now}}
	if rec.CreationTimestamp.IsZero() {
		rec.CreationTimestamp = metav1.NewTime(s.now)
	}
	s.put(rec)
	s.bound[api.Key(c.Namespace, c.Name)] = rec
	return rec
}

func (s *storage) put(rec *corev1.PersistentVolume) {
	s.records[rec.Name] = rec
	s.dirty[rec.Name] = true
}

// nodeFor is why a pod's claims keep it off a node ("" when they do not),
// and pin is the node its bound claims' data is on ("" when none is).
func (s *storage) nodeFor(p *corev1.Pod, n *corev1.Node) string {
	for _, key := range api.ClaimsOf(p) {
		c := s.claims[key]
		if c == nil {
			continue // the scheduler reports it (claimMissing)
		}
		if user := s.users[key]; onePodOnly(c) && user != "" && user != api.PodKey(p) {
			return reasonClaimInUse
		}
		if pv := s.bound[key]; pv != nil {
			if !volumeAllows(pv, n) {
				return reasonVolumeNode
			}
			continue
		}
		sc := s.class(c)
		switch {
		case !waits(sc):
			return reasonUnboundImmediate
		case api.ProvisionsLocalPath(sc.Provisioner):
			if s.nodes[n.Name] == nil || s.nodes[n.Name].StorageDir == "" {
				return reasonNoStorageDir
			}
		case s.staticOn(c, n) == nil:
			return reasonNoVolumeOnNode
		}
	}
	return ""
}

// claimMissing names the first claim of a pod that does not exist ("").
func (s *storage) claimMissing(p *corev1.Pod) string {
	for _, key := range api.ClaimsOf(p) {
		if s.claims[key] == nil {
			_, name := splitKey(key)
			return fmt.Sprintf("persistentvolumeclaim %q not found", name)
		}
	}
	return ""
}

// staticOn is the volume a claim of a WaitForFirstConsumer class without
// a provisioner would bind to on node n (nil when none fits).
func (s *storage) staticOn(c *corev1.PersistentVolumeClaim, n *corev1.Node) *corev1.PersistentVolume {
	var fit []corev1.PersistentVolume
	for _, v := range s.candidates() {
		if volumeAllows(&v, n) {
			fit = append(fit, v)
		}
	}
	pv, _ := MatchVolume(c, ClaimClass(c, s.classes), fit, nil)
	return pv
}

// volumeAllows reports whether a volume's node affinity admits a node.
func volumeAllows(pv *corev1.PersistentVolume, n *corev1.Node) bool {
	a := pv.Spec.NodeAffinity
	if a == nil || a.Required == nil {
		return true
	}
	ok, err := nodeaffinity.NewNodeSelector(a.Required)
	return err == nil && ok.Match(n)
}

// placed binds the claims of a pod just scheduled to node n that wait
// for their first consumer: a static volume on n, or a new local-path
// folder there.
func (s *storage) placed(p *corev1.Pod, n *corev1.Node) {
	s.use(p)
	for _, key := range api.ClaimsOf(p) {
		c := s.claims[key]
		if c == nil || s.bound[key] != nil {
			continue
		}
		sc := s.class(c)
		switch {
		case !waits(sc):
		case api.ProvisionsLocalPath(sc.Provisioner):
			s.provision(c, sc, s.nodes[n.Name])
		default:
			if pv := s.staticOn(c, n); pv != nil {
				s.bind(c, pv)
			}
		}
	}
}

// provision makes a local-path volume for a claim on a node: a folder
// named after the volume in the agent's volumes/ folder, pinned there.
func (s *storage) provision(c *corev1.PersistentVolumeClaim, sc *storagev1.StorageClass, node *api.Node) {
	key := api.Key(c.Namespace, c.Name)
	name := "pvc-" + uid(key, s.now.UTC().Format(time.RFC3339Nano))
	s.bind(c, s.localVolume(c, sc, name, node.Name, path.Join(node.StorageDir, "volumes", name)))
}

// localVolume is a local-path volume for a claim.
func (s *storage) localVolume(c *corev1.PersistentVolumeClaim, sc *storagev1.StorageClass, name, node, dir string) *corev1.PersistentVolume {
	reclaim := corev1.PersistentVolumeReclaimDelete
	if sc.ReclaimPolicy != nil {
		reclaim = *sc.ReclaimPolicy
	}
	fs := corev1.PersistentVolumeFilesystem
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uid("PersistentVolume", name)),
			Annotations: map[string]string{api.AnnotationProvisionedBy: sc.Provisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: requestOf(c)},
			AccessModes:                   slices.Clone(c.Spec.AccessModes),
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              sc.Name,
			VolumeMode:                    &fs,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			NodeAffinity:                  api.PinToNode(node),
		},
	}
}

// adopt makes bound volumes of the claim folders a release before v0.5.0
// kept (Input.Claims: a claim's data on the node its first pod ran on,
// in the agent's claims/ folder), once that node's agent says where its
// folders are.
func (s *storage) adopt() {
	for _, key := range sortedKeys(s.legacy) {
		c, node := s.claims[key], s.nodes[s.legacy[key]]
		if c == nil || s.bound[key] != nil || node == nil || node.StorageDir == "" {
			continue
		}
		sc := s.class(c)
		if sc == nil {
			builtin := api.BuiltinStorageClass(false)
			sc = &builtin
		}
		name := "pvc-" + uid(key, "adopted")
		pv := s.localVolume(c, sc, name, node.Name, path.Join(node.StorageDir, "claims", c.Namespace, c.Name))
		pv.Annotations[api.AnnotationAdopted] = "true"
		s.bind(c, pv)
	}
}

// release ends the volumes of claims that are gone and that no pod uses
// (inUse): a volume berth provisioned is deleted (reclaim policy Delete:
// its agent removes the folder, then the record goes) or kept Released
// (Retain); a static volume is Released (Retain) or Failed (Delete: berth
// deletes only what it provisioned). A static volume that left Git is
// forgotten once nothing is bound to it.
func (s *storage) release(inUse map[string]bool) {
	for _, name := range sortedKeys(s.records) {
		rec := s.records[name]
		if rec.DeletionTimestamp != nil {
			continue
		}
		key := api.ClaimKey(rec)
		provisioned := rec.Annotations[api.AnnotationProvisionedBy] != ""
		switch {
		case rec.Status.Phase == corev1.VolumeBound && (s.claims[key] != nil || inUse[key]):
		case rec.Status.Phase == corev1.VolumeBound:
			s.put(s.released(rec, provisioned))
		case !provisioned && !s.inGit[name]:
			delete(s.records, name)
			s.forget = append(s.forget, name)
		}
	}
}

// released is a bound volume once its claim is gone.
func (s *storage) released(rec *corev1.PersistentVolume, provisioned bool) *corev1.PersistentVolume {
	out := rec.DeepCopy()
	at := metav1.NewTime(s.now)
	out.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased, LastPhaseTransitionTime: &at}
	switch {
	case rec.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete:
	case provisioned:
		out.DeletionTimestamp = &at
	default:
		out.Status.Phase = corev1.VolumeFailed
		out.Status.Message = "reclaim policy Delete: berth deletes only the volumes it provisions; remove this volume's data yourself"
	}
	return out
}

// record writes the changed records into the plan.
func (s *storage) record(plan *api.Plan) {
	for _, name := range sortedKeys(s.dirty) {
		if rec := s.records[name]; rec != nil {
			plan.Volumes = append(plan.Volumes, *rec)
		}
	}
	plan.ForgetVolumes = append(plan.ForgetVolumes, s.forget...)
}

// claimsInUse are the claims of pods that exist or are created: a pod
// that finished and is not being deleted no longer uses its claims.
func claimsInUse(pods []corev1.Pod, created []corev1.Pod) map[string]bool {
	out := map[string]bool{}
	for _, list := range [][]corev1.Pod{pods, created} {
		for i := range list {
			p := &list[i]
			if p.DeletionTimestamp == nil && finished(p) {
				continue
			}
			for _, key := range api.ClaimsOf(p) {
				out[key] = true
			}
		}
	}
	return out
}

// splitKey splits "namespace/name".
func splitKey(key string) (ns, name string) {
	ns, name, _ = strings.Cut(key, "/")
	return ns, name
}
