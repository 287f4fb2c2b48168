//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// shopPods are, in namespace shop, db (app on :8080, side on :9090), web
// and other, each a kubia in its own network.
const shopPods = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec:
  containers:
  - {name: app, image: kubia:v1, imagePullPolicy: IfNotPresent, ports: [{name: http, containerPort: 8080}]}
  - {name: side, image: kubia:v1, imagePullPolicy: IfNotPresent, args: [-listen, ":9090"]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers: [{name: app, image: kubia:v1, imagePullPolicy: IfNotPresent}]
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: shop, labels: {app: other}}
spec:
  containers: [{name: app, image: kubia:v1, imagePullPolicy: IfNotPresent}]
`

// denyAll isolates every pod of shop for ingress; allowWeb then lets
// web, and only web, reach db's port named http (8080), and nothing else.
const (
	denyAll = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`
	allowWeb = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}]
`
)

// TestNetworkPolicy (issue #16, f): without policies web reaches both of
// db's ports; a default deny in shop blocks it (the node itself still
// reaches db, as probes must); an allow rule then opens db's port http to
// pods labelled app=web only: web reaches 8080 but not 9090, and other
// reaches neither.
func TestNetworkPolicy(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startAgent()
	c.waitCommit(c.commit("shop", map[string]string{"shop.yaml": shopPods}), 0)
	db := podIPOf(c, "db")
	reach := func(from, port string, ok bool) {
		t.Helper()
		want := "You've hit db"
		if !ok {
			want = "Client.Timeout exceeded"
		}
		c.execWithin(30*time.Second, from, "app", []string{want}, "/app", "-get", "http://"+db+":"+port+"/")
	}
	reach("web", "8080", true)
	reach("web", "9090", true)

	c.waitCommit(c.commit("deny all ingress in shop", map[string]string{"deny.yaml": denyAll}), 0)
	reach("web", "8080", false)
	if answer := get(t, "http://"+db+":8080/"); !strings.Contains(answer, "You've hit db") {
		t.Errorf("the node no longer reaches db under a default deny: %q", answer)
	}

	c.waitCommit(c.commit("db takes web on http", map[string]string{"allow.yaml": allowWeb}), 0)
	reach("web", "8080", true)
	reach("web", "9090", false)
	reach("other", "8080", false)
}
