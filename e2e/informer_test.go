//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestClientGoInformer runs a client-go SharedInformerFactory on pods and
// deployments, as controllers and dashboards do, through a rolling
// update: it lists, watches, and ends with the pods and the Deployment
// status that berth itself shows.
func TestClientGoInformer(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent("--pod-network")
	c.waitCommit(c.commit("web", map[string]string{"web.yaml": fmt.Sprintf(webApp, 3, "v1")}), 0)

	config, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(clientset, 0)
	pods, deployments := factory.Core().V1().Pods(), factory.Apps().V1().Deployments()
	var added, updated, deleted atomic.Int64
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { added.Add(1) },
		UpdateFunc: func(any, any) { updated.Add(1) },
		DeleteFunc: func(any) { deleted.Add(1) },
	})
	deployments.Informer()
	stop := make(chan struct{})
	defer func() { close(stop); factory.Shutdown() }()
	factory.Start(stop)
	for typ, ok := range factory.WaitForCacheSync(stop) {
		if !ok {
			t.Fatalf("the informer of %v did not sync", typ)
		}
	}
	initial := added.Load()

	sha := c.commit("v2", map[string]string{"web.yaml": fmt.Sprintf(webApp, 3, "v2")})
	c.waitCommit(sha, 0)
	testutil.Await(t, 30*time.Second, func() error {
		berth := c.pods()
		var want, got []string
		for _, p := range berth {
			if p.DeletionTimestamp == nil {
				want = append(want, p.Name+"/"+string(p.Status.Phase)+"/"+p.Spec.Containers[0].Env[0].Value)
			}
		}
		list, _ := pods.Lister().Pods("default").List(labels.Everything())
		for _, p := range list {
			if p.DeletionTimestamp == nil {
				got = append(got, p.Name+"/"+string(p.Status.Phase)+"/"+p.Spec.Containers[0].Env[0].Value)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, " ") != strings.Join(got, " ") {
			return fmt.Errorf("the informer holds pods %v, berth shows %v", got, want)
		}
		d, err := deployments.Lister().Deployments("default").Get("web")
		if err != nil {
			return err
		}
		if st := d.Status; st.UpdatedReplicas != 3 || st.AvailableReplicas != 3 || st.Replicas != 3 {
			return fmt.Errorf("the informer's Deployment status: %+v", st)
		}
		if n := deleted.Load(); n < 3 { // the last old pod may still be terminating
			return fmt.Errorf("the informer saw %d pods deleted so far", n)
		}
		return nil
	})
	if n := added.Load() - initial; n < 3 || updated.Load() == 0 || deleted.Load() < 3 {
		t.Errorf("through the rolling update the informer saw %d pods added, %d updated, %d deleted; want 3 new, some updates, 3 old gone",
			n, updated.Load(), deleted.Load())
	}
}
