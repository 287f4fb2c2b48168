package master

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
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
	if addr = m.store.NodeAddresses()[node]; addr == "" {
		return node, "", http.StatusBadGateway, fmt.Errorf("node %s of pod %s serves no logs or streams (agent started without --listen)", node, key)
	}
	return node, addr, 0, nil
}

// webSocketProtocols are the WebSocket subprotocols the agents' streams
// speak (the kubelet's streaming server's).
var webSocketProtocols = []string{"v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"}

// servesWebSocket reports whether a client offers a subprotocol the
// agents speak (the header may list several, comma-separated).
func servesWebSocket(offered []string) bool {
	for _, h := range offered {
		for _, p := range strings.Split(h, ",") {
			if slices.Contains(webSocketProtocols, strings.TrimSpace(p)) {
				return true
			}
		}
	}
	return false
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
		if offered := r.Header.Values("Sec-WebSocket-Protocol"); len(offered) > 0 && !servesWebSocket(offered) {
			// kubectl offers v5 first and falls back to SPDY on this answer
			writeError(w, http.StatusBadRequest, fmt.Errorf("WebSocket subprotocols %v are not served: berth serves %v, and SPDY", offered, webSocketProtocols))
			return
		}
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
