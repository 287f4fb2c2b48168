package master

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	utilproxy "k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream/wsstream"

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

// The WebSocket subprotocols a stream may offer. The agents' streaming
// server (the kubelet's) speaks SPDY and the older WebSocket protocols;
// the master translates v5 to SPDY and unwraps SPDY tunnelled through a
// WebSocket, as kube-apiserver does.
const (
	remoteCommandV5   = "v5.channel.k8s.io"
	portForwardTunnel = "SPDY/3.1+portforward.k8s.io"
)

// agentWebSocketProtocols are the WebSocket subprotocols the agents'
// streaming server speaks itself.
var agentWebSocketProtocols = []string{"v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io", "portforward.k8s.io"}

// offers reports whether a request offers one of the WebSocket
// subprotocols (the header may list several, comma-separated).
func offers(r *http.Request, protocols ...string) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if slices.Contains(protocols, strings.TrimSpace(p)) {
				return true
			}
		}
	}
	return false
}

// streamPaths are the agent's path of each pod subresource that streams.
var streamPaths = map[string]string{"exec": api.AgentPathExec, "attach": api.AgentPathAttach, "portforward": api.AgentPathPortForward}

// agentStreamURL is the agent's URL of a pod's stream. The query takes
// the kubelet's names (input, output, error) for the streams the client
// asks for (stdin, stdout, stderr).
func agentStreamURL(addr, sub, namespace, pod string, q url.Values) *url.URL {
	q = cloneQuery(q)
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
	return &url.URL{Scheme: "https", Host: addr, Path: streamPaths[sub] + url.PathEscape(namespace) + "/" + url.PathEscape(pod), RawQuery: q.Encode()}
}

// cloneQuery copies a query.
func cloneQuery(q url.Values) url.Values {
	c := make(url.Values, len(q))
	for k, v := range q {
		c[k] = slices.Clone(v)
	}
	return c
}

// streamOptions are the streams an exec or attach asks for.
func streamOptions(q url.Values) proxy.Options {
	on := func(name string) bool { v := q.Get(name); return v == "true" || v == "1" }
	return proxy.Options{Stdin: on("stdin"), Stdout: on("stdout"), Stderr: on("stderr"), Tty: on("tty")}
}

// handleStream serves kubectl's exec, attach or port-forward through the
// agent of the pod's node:
//   - WebSocket v5 (exec, attach) is translated to SPDY toward the agent;
//   - SPDY tunnelled through a WebSocket (port-forward) is unwrapped;
//   - SPDY and the older WebSocket protocols are proxied as they are.
func (m *Master) handleStream(sub string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, pod := r.PathValue("namespace"), r.PathValue("pod")
		webSocket := wsstream.IsWebSocketRequest(r)
		translate := webSocket && sub != "portforward" && offers(r, remoteCommandV5)
		tunnel := webSocket && sub == "portforward" && offers(r, portForwardTunnel)
		if webSocket && !translate && !tunnel && !offers(r, agentWebSocketProtocols...) {
			writeError(w, http.StatusBadRequest, fmt.Errorf("WebSocket subprotocols %v are not served for %s: berth serves %s, %s, %v, and SPDY",
				r.Header.Values("Sec-WebSocket-Protocol"), sub, remoteCommandV5, portForwardTunnel, agentWebSocketProtocols))
			return
		}
		node, addr, status, err := m.podAgent(ns, pod)
		if err != nil {
			writeError(w, status, err)
			return
		}
		target := agentStreamURL(addr, sub, ns, pod, r.URL.Query())
		transport := m.agentUpgradeTransport(node)
		m.log.Info("stream opened", "stream", sub, "pod", api.Key(ns, pod), "node", node, "protocol", streamProtocol(translate, tunnel, webSocket))
		if translate {
			proxy.NewStreamTranslatorHandler(target, transport, 0, streamOptions(r.URL.Query())).ServeHTTP(w, r)
			return
		}
		r = r.Clone(r.Context())
		r.Header.Del("Authorization") // the agent trusts the master's certificate, not the user's
		upgrade := utilproxy.NewUpgradeAwareHandler(target, transport, false, true, streamErrors{sub, ns, pod, node, addr})
		if tunnel {
			proxy.NewTunnelingHandler(upgrade).ServeHTTP(w, r)
			return
		}
		upgrade.ServeHTTP(w, r)
	}
}

// streamErrors answers a stream the agent did not take.
type streamErrors struct{ sub, namespace, pod, node, addr string }

func (e streamErrors) Error(w http.ResponseWriter, _ *http.Request, err error) {
	writeError(w, http.StatusBadGateway, fmt.Errorf("%s of pod %s/%s on node %s at %s: %w", e.sub, e.namespace, e.pod, e.node, e.addr, err))
}

// streamProtocol names how a stream reaches the agent, for the log.
func streamProtocol(translate, tunnel, webSocket bool) string {
	switch {
	case translate:
		return "websocket " + remoteCommandV5 + " translated to SPDY"
	case tunnel:
		return "SPDY tunnelled through a websocket"
	case webSocket:
		return "websocket"
	}
	return "SPDY"
}

// agentUpgradeTransport reaches a node's agent for a connection that
// upgrades, which takes HTTP/1.1.
func (m *Master) agentUpgradeTransport(node string) *http.Transport {
	tlsConfig := m.sec.agentTLS(node).Clone()
	tlsConfig.NextProtos = []string{"http/1.1"}
	return &http.Transport{TLSClientConfig: tlsConfig, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
}
