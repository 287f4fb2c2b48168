package api

// CompiledPolicy is a NetworkPolicy resolved against the pods, as the
// masters send it to the agents in the service table: the addresses of
// the pods it selects, whether it isolates them for ingress and egress,
// and its rules with peers and ports as addresses and numbers.
type CompiledPolicy struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Pods are the addresses of the pods the policy selects.
	Pods    []string     `json:"pods,omitempty"`
	Ingress bool         `json:"ingress,omitempty"`
	Egress  bool         `json:"egress,omitempty"`
	From    []PolicyRule `json:"from,omitempty"`
	To      []PolicyRule `json:"to,omitempty"`
}

// PolicyRule allows traffic with one of its peers (any peer when
// AllPeers) on one of its ports (any port when it has none).
type PolicyRule struct {
	AllPeers bool         `json:"allPeers,omitempty"`
	Peers    []PolicyPeer `json:"peers,omitempty"`
	Ports    []PolicyPort `json:"ports,omitempty"`
}

// PolicyPeer is a range of addresses without its exceptions (a pod is a
// /32).
type PolicyPeer struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// PolicyPort is a protocol with a port or a range of ports (Port 0: every
// port); a named port is resolved per pod, and then holds for the pod at
// address Pod only.
type PolicyPort struct {
	Protocol string `json:"protocol"`
	Port     int32  `json:"port,omitempty"`
	EndPort  int32  `json:"endPort,omitempty"`
	Pod      string `json:"pod,omitempty"`
}
