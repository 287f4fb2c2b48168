package agentcli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/node"
	"github.com/berth-dev/berth/node/network"
)

// TestPodNetworkFlag: host-gw by default and with --pod-network alone, a mode may be
// named, off is the node's network, and anything else is refused with
// the flag named.
func TestPodNetworkFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		on   bool
		mode network.Mode
		err  string
	}{
		{args: nil, on: true, mode: network.HostGW},
		{args: []string{"--pod-network"}, on: true, mode: network.HostGW},
		{args: []string{"--pod-network=vxlan"}, on: true, mode: network.VXLAN},
		{args: []string{"--pod-network=off"}, on: false},
		{args: []string{"--pod-network=flannel"}, err: `--pod-network "flannel": want off, host-gw or vxlan`},
	} {
		cfg, err := configFor(t, tc.args...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v; want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.PodNetwork != tc.on || cfg.NetworkMode != tc.mode {
			t.Errorf("%v: pod network %v, mode %q, %v; want %v, %q", tc.args, cfg.PodNetwork, cfg.NetworkMode, err, tc.on, tc.mode)
		}
	}
}

// TestIngressFlags: ports 80 and 443 by default, others by
// --ingress-ports, none with --ingress=false; bad ports name the flag.
func TestIngressFlags(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		http, https int
		err         string
	}{
		{args: nil, http: 80, https: 443},
		{args: []string{"--ingress-ports", "18080,18443"}, http: 18080, https: 18443},
		{args: []string{"--ingress=false"}},
		{args: []string{"--ingress-ports", "80"}, err: "--ingress-ports [80]: want two different ports"},
		{args: []string{"--ingress-ports", "80,80"}, err: "--ingress-ports [80 80]: want two different ports"},
		{args: []string{"--ingress-ports", "80,70000"}, err: "--ingress-ports [80 70000]: port 70000 is not between 1 and 65535"},
	} {
		cfg, err := configFor(t, tc.args...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v; want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.IngressHTTP != tc.http || cfg.IngressHTTPS != tc.https {
			t.Errorf("%v: ports %d,%d, %v; want %d,%d", tc.args, cfg.IngressHTTP, cfg.IngressHTTPS, err, tc.http, tc.https)
		}
	}
}

// configFor parses an agent's flags (with --name and --data) into its
// config.
func configFor(t *testing.T, args ...string) (node.Config, error) {
	var f Flags
	c := &cobra.Command{Run: func(*cobra.Command, []string) {}}
	f.AddIdentity(c)
	f.Add(c)
	c.SetArgs(append([]string{"--name", "n1", "--data", t.TempDir()}, args...))
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	return Config(&f, nil)
}
