// Package client is the Go client of the master API, used by the CLI and
// the agent. It takes a list of masters and fails over between them.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/api"
)

// Client talks to one of several masters.
type Client struct {
	servers []string
	http    *http.Client
	// first is the index of the server that answered last: requests start
	// there, so a dead master costs one failed dial, not one per request.
	first atomic.Int32
	// moved is closed (and replaced) when first changes: a request still
	// waiting on another master (a long poll on one that was cut off)
	// gives up and tries again where the others now succeed.
	mu    sync.Mutex
	moved chan struct{}
	// bearer, when set, is sent as "Authorization: Bearer".
	bearer string
	// plainHTTP allows http:// servers (see WithPlainHTTP).
	plainHTTP bool
	// Stale lets reads be answered by whichever master gets them, from
	// its own copy of the state, without a round trip to the leader.
	Stale bool
}

// Option sets how a client shows itself to the masters.
type Option func(*Client)

// WithTLS makes the client trust the CA of cfg and show its client
// certificate, if any.
func WithTLS(cfg *tls.Config) Option {
	return func(c *Client) { c.http.Transport.(*http.Transport).TLSClientConfig = cfg }
}

// WithPlainHTTP lets the client reach http:// addresses: only masters of
// releases before v0.3.0 speak plain HTTP (the upgrade test drives them).
func WithPlainHTTP() Option { return func(c *Client) { c.plainHTTP = true } }

// WithBearer sends a bearer token with every request.
func WithBearer(token string) Option { return func(c *Client) { c.bearer = token } }

// New returns a client for the given master URLs (a bare host:port gets
// https://).
func New(servers []string, opts ...Option) (*Client, error) {
	// A master that is down or cut off must not hold a request for the
	// kernel's connect timeout (minutes): give up the dial after 3 s and
	// try the next one.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	// An agent has a few requests out at once (two long polls, a heartbeat,
	// a status report): keep their connections for reuse. With Go's
	// default of 2, every heartbeat dialled anew and left a TIME_WAIT
	// socket behind; 2,500 hollow nodes left 14,000 and ran out of ports.
	transport.MaxIdleConnsPerHost = maxIdleConnsPerMaster
	c := &Client{http: &http.Client{Transport: transport}, moved: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	var err error
	if c.servers, err = serverURLs(servers, c.plainHTTP); err != nil {
		return nil, err
	}
	return c, nil
}

// serverURLs checks and completes master addresses.
func serverURLs(servers []string, plainHTTP bool) ([]string, error) {
	var out []string
	for _, s := range servers {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		if s == "" {
			continue
		}
		if !strings.Contains(s, "://") {
			s = "https://" + s
		}
		if strings.HasPrefix(s, "http://") && !plainHTTP {
			return nil, fmt.Errorf("server address %q: masters speak HTTPS only (use https://)", s)
		}
		if _, err := url.Parse(s); err != nil {
			return nil, fmt.Errorf("server address %q: %w", s, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no server address given")
	}
	return out, nil
}

// At is a client of one master only, with this client's credentials and
// connections.
func (c *Client) At(server string) (*Client, error) {
	servers, err := serverURLs([]string{server}, c.plainHTTP)
	if err != nil {
		return nil, err
	}
	return &Client{servers: servers, http: c.http, bearer: c.bearer, plainHTTP: c.plainHTTP, moved: make(chan struct{})}, nil
}

// maxIdleConnsPerMaster is how many idle connections to each master a
// client keeps for reuse.
const maxIdleConnsPerMaster = 8

// dialTimeout bounds connecting to one master.
const dialTimeout = 3 * time.Second

// Servers returns the master URLs.
func (c *Client) Servers() []string { return c.servers }

// APIError is an error answer from a master.
type APIError struct {
	Status  int
	Message string
}

// Error renders the server's message and HTTP status.
func (e *APIError) Error() string { return fmt.Sprintf("server: %s (HTTP %d)", e.Message, e.Status) }

// do sends the request to each master in turn until one answers. Each try
// ends after timeout (0: none), so that a master cut off in the middle of
// a request does not hold it for ever; the caller calls done once it has
// read the answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in any, timeout time.Duration) (resp *http.Response, done context.CancelFunc, err error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, nil, fmt.Errorf("encoding request: %w", err)
		}
	}
	if c.Stale && method == http.MethodGet {
		q := url.Values{"stale": {""}}
		for k, v := range query {
			q[k] = v
		}
		query = q
	}
	var lastErr error
	first := int(c.first.Load())
	for i := range c.servers {
		n := (first + i) % len(c.servers)
		s := c.servers[n]
		u := s + path
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		var tctx context.Context
		var cancel context.CancelFunc
		if timeout > 0 {
			tctx, cancel = context.WithTimeout(ctx, timeout)
			go c.cancelWhenMoved(tctx, cancel, n)
		} else {
			tctx, cancel = context.WithCancel(ctx)
		}
		req, err := http.NewRequestWithContext(tctx, method, u, bytes.NewReader(body))
		if err != nil {
			cancel()
			return nil, nil, err
		}
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			cancel()
			lastErr = fmt.Errorf("%s %s: %w", method, u, err)
			if ctx.Err() != nil {
				return nil, nil, lastErr
			}
			continue // down, cut off, or too slow: the next master
		}
		if resp.StatusCode < 300 {
			c.answered(n)
			return resp, cancel, nil
		}
		lastErr = apiError(resp)
		cancel()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return nil, nil, lastErr
		}
		// 503: this master cannot answer now (no leader yet); try the next.
	}
	return nil, nil, lastErr
}

// answered records that server n answered; when that is a change, the
// requests waiting on other servers are told.
func (c *Client) answered(n int) {
	if int(c.first.Load()) == n {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.first.Store(int32(n))
	close(c.moved)
	c.moved = make(chan struct{})
}

// cancelWhenMoved ends a try on server n once requests succeed elsewhere.
func (c *Client) cancelWhenMoved(ctx context.Context, cancel context.CancelFunc, n int) {
	for {
		c.mu.Lock()
		moved := c.moved
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-moved:
			if int(c.first.Load()) != n {
				cancel()
				return
			}
		}
	}
}

// callTimeout bounds one try of a JSON call: a blocking query's wait plus
// the server's jitter and a margin, else a minute.
func callTimeout(query url.Values) time.Duration {
	if w, err := time.ParseDuration(query.Get("wait")); err == nil && query.Get("index") != "" {
		return w + w/16 + 10*time.Second
	}
	return time.Minute
}

// apiError reads an error answer: {"error": "..."}, a Kubernetes Status
// (the Kubernetes API's paths) or plain text.
func apiError(resp *http.Response) error {
	defer drainClose(resp.Body)
	var e struct{ Error, Message, Kind string }
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &e) == nil && e.Kind == "Status" && e.Message != "" {
		e.Error = e.Message
	}
	if e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	return &APIError{Status: resp.StatusCode, Message: e.Error}
}

func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, done, err := c.do(ctx, method, path, query, in, callTimeout(query))
	if err != nil {
		return err
	}
	defer done()
	defer drainClose(resp.Body)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding answer to %s %s: %w", method, path, err)
	}
	return nil
}

// drainClose reads what is left of an answer (the newline after its JSON,
// or a body the caller did not want) and closes it: the transport reuses
// a connection only when its answer was read to the end, so without this
// every heartbeat opened a new one.
func drainClose(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	body.Close()
}

// blocking returns the query of a blocking read.
func blocking(index uint64, wait time.Duration) url.Values {
	q := url.Values{}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
		q.Set("wait", wait.String())
	}
	return q
}

// Status reads the cluster's status, waiting while its index is not above
// index (0: answer at once).
func (c *Client) Status(ctx context.Context, index uint64, wait time.Duration) (*api.Status, error) {
	var s api.Status
	return &s, c.call(ctx, http.MethodGet, api.PathStatus, blocking(index, wait), nil, &s)
}

// Pods lists pods; an empty namespace lists all of them.
func (c *Client) Pods(ctx context.Context, namespace string) (*corev1.PodList, error) {
	var l corev1.PodList
	return &l, c.call(ctx, http.MethodGet, api.PathPods, nsQuery(namespace), nil, &l)
}

// List reads the Kubernetes list at path (api.PathDaemonSets, …) into
// out; an empty namespace lists all of them.
func (c *Client) List(ctx context.Context, path, namespace string, out any) error {
	return c.call(ctx, http.MethodGet, path, nsQuery(namespace), nil, out)
}

// Events lists events; forObject ("pod/NAME") narrows them to one object.
func (c *Client) Events(ctx context.Context, namespace, forObject string) (*corev1.EventList, error) {
	q := nsQuery(namespace)
	if forObject != "" {
		q.Set("for", forObject)
	}
	var l corev1.EventList
	return &l, c.call(ctx, http.MethodGet, api.PathEvents, q, nil, &l)
}

// Nodes lists nodes.
func (c *Client) Nodes(ctx context.Context) (*corev1.NodeList, error) {
	var l corev1.NodeList
	return &l, c.call(ctx, http.MethodGet, api.PathNodes, nil, nil, &l)
}

// RemoveNode forgets a node (its pods are deleted; a running agent
// registers it again).
func (c *Client) RemoveNode(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, api.PathNodes+"/"+url.PathEscape(name), nil, nil, nil)
}

// Revisions returns the revision log, oldest first.
func (c *Client) Revisions(ctx context.Context) ([]api.LogEntry, error) {
	var l []api.LogEntry
	return l, c.call(ctx, http.MethodGet, api.PathRevisions, nil, nil, &l)
}

func nsQuery(namespace string) url.Values {
	q := url.Values{}
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	return q
}

// Register registers a node.
func (c *Client) Register(ctx context.Context, r *api.Registration) error {
	return c.call(ctx, http.MethodPost, api.PathRegister, nil, r, nil)
}

// Heartbeat tells the master that a node is alive, and returns the
// shortest wait the master asks for before the next one (0: none).
func (c *Client) Heartbeat(ctx context.Context, node string) (next time.Duration, err error) {
	a, err := c.HeartbeatAnswer(ctx, node)
	return time.Duration(a.IntervalMillis) * time.Millisecond, err
}

// HeartbeatAnswer sends a heartbeat and returns the master's whole
// answer: the interval to keep, and whether to register again.
func (c *Client) HeartbeatAnswer(ctx context.Context, node string) (api.HeartbeatAnswer, error) {
	var a api.HeartbeatAnswer
	err := c.call(ctx, http.MethodPost, api.PathHeartbeat, nil, api.Heartbeat{Name: node}, &a)
	return a, err
}

// Report sends a batch of pod status reports.
func (c *Client) Report(ctx context.Context, b *api.StatusBatch) error {
	return c.call(ctx, http.MethodPost, api.PathReport, nil, b, nil)
}

// Assignments returns the pods bound to a node once their index passes
// index, or after wait.
func (c *Client) Assignments(ctx context.Context, node string, index uint64, wait time.Duration) (*api.Assignments, error) {
	var a api.Assignments
	return &a, c.call(ctx, http.MethodGet, api.PathAssignments+url.PathEscape(node), blocking(index, wait), nil, &a)
}

// ServiceTable reads the Services and their endpoints. With a hash (the
// table the caller has), the master waits up to wait for a different one.
func (c *Client) ServiceTable(ctx context.Context, hash string, wait time.Duration) (*api.ServiceTable, error) {
	q := url.Values{}
	if hash != "" {
		q = blocking(1, wait) // the index is not used: the hash is
		q.Set("hash", hash)
	}
	var t api.ServiceTable
	return &t, c.call(ctx, http.MethodGet, api.PathServiceTable, q, nil, &t)
}

// Members lists the masters of the cluster.
func (c *Client) Members(ctx context.Context) ([]api.MemberStatus, error) {
	var ms []api.MemberStatus
	return ms, c.call(ctx, http.MethodGet, api.PathMembers, nil, nil, &ms)
}

// RemoveMember removes a master from the cluster.
func (c *Client) RemoveMember(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, api.PathMembers+"/"+url.PathEscape(name), nil, nil, nil)
}

// Self asks the first master for its own view (its Raft state, applied
// index and state digest).
func (c *Client) Self(ctx context.Context) (*api.SelfStatus, error) {
	var s api.SelfStatus
	return &s, c.call(ctx, http.MethodGet, api.PathSelf, nil, nil, &s)
}

// Plan asks what applying the manifest files would do (a dry run).
func (c *Client) Plan(ctx context.Context, req *api.PlanRequest) (*api.DryRun, error) {
	var d api.DryRun
	return &d, c.call(ctx, http.MethodPost, api.PathPlan, nil, req, &d)
}

// Logs streams a container's log, with the query parameters of the
// Kubernetes log API (container, follow, previous, tailLines, …).
func (c *Client) Logs(ctx context.Context, namespace, pod string, q url.Values) (io.ReadCloser, error) {
	resp, _, err := c.do(ctx, http.MethodGet, api.LogsPath(namespace, pod), q, nil, 0) // a followed log has no end
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ClusterSecrets reads the CA's certificate and key (masters only).
func (c *Client) ClusterSecrets(ctx context.Context, out *api.ClusterSecrets) error {
	return c.call(ctx, http.MethodGet, api.PathClusterSecrets, nil, nil, out)
}

// CreateToken mints a token (admins only); its secret is shown only here.
func (c *Client) CreateToken(ctx context.Context, req *api.TokenRequest) (*api.TokenAnswer, error) {
	var a api.TokenAnswer
	return &a, c.call(ctx, http.MethodPost, api.PathTokens, nil, req, &a)
}

// Tokens lists the tokens, without their secrets (admins only).
func (c *Client) Tokens(ctx context.Context) ([]api.TokenInfo, error) {
	var l []api.TokenInfo
	return l, c.call(ctx, http.MethodGet, api.PathTokens, nil, nil, &l)
}

// RevokeToken revokes a token by its ID (admins only).
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, api.PathTokens+"/"+url.PathEscape(id), nil, nil, nil)
}

// Kubeconfig asks for a user's certificate (admins only).
func (c *Client) Kubeconfig(ctx context.Context, req *api.KubeconfigRequest) (*api.KubeconfigAnswer, error) {
	var a api.KubeconfigAnswer
	return &a, c.call(ctx, http.MethodPost, api.PathKubeconfig, nil, req, &a)
}

// WhoAmI answers the identity the masters see.
func (c *Client) WhoAmI(ctx context.Context) (map[string]string, error) {
	var a map[string]string
	return a, c.call(ctx, http.MethodGet, api.PathWhoAmI, nil, nil, &a)
}

// Keys counts the Secrets each data key seals (admins only).
func (c *Client) Keys(ctx context.Context) (*api.KeysStatus, error) {
	var s api.KeysStatus
	return &s, c.call(ctx, http.MethodGet, api.PathKeys, nil, nil, &s)
}

// RotateKey adds a primary data key (admins only); the leader seals the
// stored Secrets again under it.
func (c *Client) RotateKey(ctx context.Context) (*api.KeysStatus, error) {
	var s api.KeysStatus
	return &s, c.call(ctx, http.MethodPost, api.PathKeys+"/rotate", nil, struct{}{}, &s)
}
