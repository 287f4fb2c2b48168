package agentcli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

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
		var f Flags
		c := &cobra.Command{Run: func(*cobra.Command, []string) {}}
		f.AddIdentity(c)
		f.Add(c)
		c.SetArgs(append([]string{"--name", "n1", "--data", t.TempDir()}, tc.args...))
		if err := c.Execute(); err != nil {
			t.Fatal(err)
		}
		cfg, err := Config(&f, nil)
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
