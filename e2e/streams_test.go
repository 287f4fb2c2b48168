//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
)

// streamClient drives a pod's exec and port-forward with client-go's
// executors and dialers, one protocol each and no fallback, so that a
// protocol the master stopped serving fails here rather than being
// hidden by kubectl's fallback to SPDY.
type streamClient struct {
	t      *testing.T
	config *restclient.Config
	rest   restclient.Interface
	pod    string
}

func (c *cluster) streamClient(t *testing.T, pod string) *streamClient {
	config, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	return &streamClient{t: t, config: config, rest: clientset.CoreV1().RESTClient(), pod: pod}
}

// execURL is the pod's exec URL for a command.
func (s *streamClient) execURL(stdin bool, command ...string) *url.URL {
	return s.rest.Post().Resource("pods").Namespace("default").Name(s.pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: command, Stdin: stdin, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
}

// exec runs a command through one protocol ("v5" over WebSocket, or
// "spdy") and returns its stdout, stderr and error.
func (s *streamClient) exec(protocol, stdin string, command ...string) (string, string, error) {
	u := s.execURL(stdin != "", command...)
	var executor remotecommand.Executor
	var err error
	switch protocol {
	case "v5":
		executor, err = remotecommand.NewWebSocketExecutorForProtocols(s.config, "GET", u.String(), "v5.channel.k8s.io")
	default:
		executor, err = remotecommand.NewSPDYExecutor(s.config, "POST", u)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	opts := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = executor.StreamWithContext(ctx, opts)
	return stdout.String(), stderr.String(), err
}

// forward forwards a local port to the pod's port 8080 through a dialer
// ("tunnel": SPDY through a WebSocket, or "spdy") and returns the pod's
// answer to a request on it.
func (s *streamClient) forward(protocol string) (string, error) {
	u := s.rest.Post().Resource("pods").Namespace("default").Name(s.pod).SubResource("portforward").URL()
	ctx, cancel := context.WithCancel(context.Background())
	fw := s.forwarder(ctx, protocol, u)
	errc := make(chan error, 1)
	go func() { errc <- fw.ForwardPorts() }()
	defer func() { cancel(); <-errc }()
	select {
	case <-fw.Ready:
	case err := <-errc:
		errc <- err
		return "", fmt.Errorf("port-forward (%s): %w", protocol, err)
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("port-forward (%s) not ready within 30 s", protocol)
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		return "", fmt.Errorf("port-forward (%s): ports %v: %v", protocol, ports, err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
	if err != nil {
		return "", fmt.Errorf("a request through port-forward (%s): %w", protocol, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// forwarder builds a port forwarder from a free local port to the
// pod's 8080.
func (s *streamClient) forwarder(ctx context.Context, protocol string, u *url.URL) *portforward.PortForwarder {
	var dialer httpstream.Dialer
	var err error
	switch protocol {
	case "tunnel":
		dialer, err = portforward.NewSPDYOverWebsocketDialer(u, s.config)
	default:
		var transport http.RoundTripper
		var upgrader spdy.Upgrader
		if transport, upgrader, err = spdy.RoundTripperFor(s.config); err == nil {
			dialer = spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", u)
		}
	}
	if err != nil {
		s.t.Fatal(err)
	}
	fw, err := portforward.NewOnAddressesWithContext(ctx, dialer, []string{"127.0.0.1"}, []string{"0:8080"}, make(chan struct{}), io.Discard, io.Discard)
	if err != nil {
		s.t.Fatal(err)
	}
	return fw
}

// checkStreams pins each protocol kubectl may use for exec and
// port-forward and checks that the master served it (its log names the
// path it took).
func (c *cluster) checkStreams(t *testing.T, pod string) {
	s := c.streamClient(t, pod)
	for _, protocol := range []string{"v5", "spdy"} {
		if out, _, err := s.exec(protocol, "", "cat", "/etc/hostname"); err != nil || strings.TrimSpace(out) != pod {
			t.Errorf("exec (%s) cat /etc/hostname: %q, %v", protocol, out, err)
		}
		if out, _, err := s.exec(protocol, "through stdin\n", "cat"); err != nil || out != "through stdin\n" {
			t.Errorf("exec (%s) -i cat: %q, %v", protocol, out, err)
		}
		_, stderr, err := s.exec(protocol, "", "sh", "-c", "echo oops >&2; exit 3")
		var exit exec.CodeExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 3 || stderr != "oops\n" {
			t.Errorf("exec (%s) of a command that writes to stderr and exits 3: stderr %q, %v", protocol, stderr, err)
		}
	}
	for _, protocol := range []string{"tunnel", "spdy"} {
		if body, err := s.forward(protocol); err != nil || !strings.Contains(body, "You've hit "+pod) {
			t.Errorf("through port-forward (%s), the pod answered %q, %v", protocol, body, err)
		}
	}
	log, err := os.ReadFile(c.master.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"websocket v5.channel.k8s.io translated to SPDY", "SPDY tunnelled through a websocket"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("the master's log has no stream served as %q", want)
		}
	}
}
