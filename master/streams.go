package master

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/berth-dev/berth/api"
)

// podAgent finds the node a pod is bound to and its agent's address.
func (m *Master) podAgent(namespace, pod string) (node, addr string, status int, err error) {
	key := api.Key(namespace, pod)
	node = m.store.PodNode(key)
	if node == "" {
		return "", "", http.StatusNotFound, fmt.Errorf("pod %s not found or not scheduled", key)
	}
	v := m.store.View(false)
	for _, n := range v.Nodes {
		if n.Name == node {
			addr = n.Address
		}
	}
	if addr == "" {
		return node, "", http.StatusBadGateway, fmt.Errorf("node %s of pod %s serves no streams (agent started without --listen)", node, key)
	}
	return node, addr, 0, nil
}

// streamPaths are the agent's path of each pod subresource that streams.
var streamPaths = map[string]string{"exec": api.AgentPathExec, "attach": api.AgentPathAttach, "portforward": api.AgentPathPortForward}

// handleStream proxies kubectl's exec, attach or port-forward to the
// agent of the pod's node, which serves the protocols (SPDY and
// WebSocket); the connection is upgraded end to end. The query takes the
// kubelet's names (input, output, error) for the streams the client asks
// for (stdin, stdout, stderr).
func (m *Master) handleStream(sub string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, pod := r.PathValue("namespace"), r.PathValue("pod")
		node, addr, status, err := m.podAgent(ns, pod)
		if err != nil {
			writeError(w, status, err)
			return
		}
		q := r.URL.Query()
		for from, to := range map[string]string{"stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"} {
			if v := q.Get(from); v == "true" || v == "1" {
				q.Set(to, "1")
			} else {
				q.Del(to)
			}
			if from != "tty" {
				q.Del(from)
			}
		}
		target := &url.URL{Scheme: "https", Host: addr, Path: streamPaths[sub] + url.PathEscape(ns) + "/" + url.PathEscape(pod), RawQuery: q.Encode()}
		tlsConfig := m.sec.agentTLS(node).Clone()
		tlsConfig.NextProtos = []string{"http/1.1"} // an upgrade takes HTTP/1.1
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.URL = target
				pr.Out.Host = addr
				pr.Out.Header.Del("Authorization") // the agent trusts the master's certificate, not the user's
			},
			Transport: &http.Transport{TLSClientConfig: tlsConfig, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				writeError(w, http.StatusBadGateway, fmt.Errorf("%s of pod %s/%s on node %s at %s: %w", sub, ns, pod, node, addr, err))
			},
		}
		m.log.Info("stream opened", "stream", sub, "pod", api.Key(ns, pod), "node", node)
		proxy.ServeHTTP(w, r)
	}
}
