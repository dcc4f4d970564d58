package testproc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NATSServerPkg is the nats-server main package, at the version go.mod pins.
const NATSServerPkg = "github.com/nats-io/nats-server/v2"

// Cluster is a JetStream cluster of nats-server processes on loopback.
type Cluster struct {
	Name  string
	Nodes []*Node
}

// Node is one nats-server of a cluster. Its ports and store survive a
// kill, so that Start brings the same server back.
type Node struct {
	Name                        string
	Port, ClusterPort, HTTPPort int
	Dir                         string // config file and JetStream store
	bin                         string
	scheme                      string // nats, or tls with ClusterOptions.TLS
	proc                        *Proc
	t                           testing.TB
}

// ClusterOptions shape a cluster.
type ClusterOptions struct {
	// Nodes is how many servers; 3 when zero.
	Nodes int
	// SyncAlways makes every server fsync before acknowledging
	// (jetstream sync_interval: always), keyplane's durability promise.
	SyncAlways bool
	// TLS, when set, makes clients connect with TLS and present a
	// certificate the CA signed (tls:// URLs).
	TLS *ServerTLS
}

// ServerTLS are the PEM files of the servers' TLS: their certificate and
// key, and the CA that must have signed a client's certificate.
type ServerTLS struct {
	Cert, Key, CA string
}

// block is the server configuration's tls block for t.
func (t *ServerTLS) block() string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("tls {\n  cert_file: %q\n  key_file: %q\n  ca_file: %q\n  verify: true\n  timeout: 5\n}\n", t.Cert, t.Key, t.CA)
}

// StartCluster starts a cluster and waits until every server reports
// JetStream healthy (a meta leader elected, every peer current). The
// servers are killed when the test ends.
func StartCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	bin, err := Build(NATSServerPkg)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Name: "kp"}
	ports := FreePorts(t, 3*o.Nodes)
	dir := t.TempDir()
	for i := range o.Nodes {
		n := &Node{Name: fmt.Sprintf("n%d", i+1), Port: ports[3*i], ClusterPort: ports[3*i+1], HTTPPort: ports[3*i+2],
			Dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), bin: bin, scheme: "nats", t: t}
		if o.TLS != nil {
			n.scheme = "tls"
		}
		c.Nodes = append(c.Nodes, n)
	}
	for _, n := range c.Nodes {
		if err := n.writeConfig(c, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range c.Nodes {
		n.Start()
	}
	c.WaitHealthy(t, 60*time.Second)
	return c
}

// ClientURLs are the servers' client URLs, comma-separated, as --nats-url
// takes them.
func (c *Cluster) ClientURLs() string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.ClientURL())
	}
	return strings.Join(urls, ",")
}

// WaitHealthy waits until every running server answers /healthz with 200:
// JetStream enabled, a meta leader known, the server current with it.
func (c *Cluster) WaitHealthy(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, n := range c.Nodes {
		if n.proc == nil || n.proc.Exited() {
			continue
		}
		for !n.healthy() {
			if time.Now().After(deadline) {
				t.Fatalf("nats-server %s not healthy after %v:\n%s", n.Name, timeout, n.proc.Tail())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// ClientURL is the node's client URL.
func (n *Node) ClientURL() string { return fmt.Sprintf("%s://127.0.0.1:%d", n.scheme, n.Port) }

// Start runs the node's server (again, after Kill).
func (n *Node) Start() {
	n.t.Helper()
	p, err := start("nats-server "+n.Name, n.bin, []string{"-c", filepath.Join(n.Dir, "server.conf")}, nil, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	n.proc = p
	p.logTailOnFailure(n.t)
	n.t.Cleanup(p.Kill)
}

// Kill ends the server with SIGKILL.
func (n *Node) Kill() { n.proc.Kill() }

// Stop ends the server with SIGTERM, as an operator stopping it would (it
// shuts down cleanly), and with SIGKILL if it has not exited after timeout.
func (n *Node) Stop(timeout time.Duration) { n.proc.Stop(timeout) }

// Running reports whether the node's process is alive.
func (n *Node) Running() bool { return n.proc != nil && !n.proc.Exited() }

func (n *Node) healthy() bool {
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.HTTPPort))
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// writeConfig writes the node's server.conf: loopback ports, a store of
// its own, routes to every node (none for a lone server).
func (n *Node) writeConfig(c *Cluster, o ClusterOptions) error {
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		return err
	}
	var routes []string
	for _, o := range c.Nodes {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.ClusterPort))
	}
	sync := ""
	if o.SyncAlways {
		sync = "\n  sync_interval: always"
	}
	cluster := ""
	if len(c.Nodes) > 1 {
		cluster = fmt.Sprintf("cluster {\n  name: %s\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n",
			c.Name, n.ClusterPort, strings.Join(routes, ", "))
	}
	conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream {
  store_dir: %q%s
}
%s%s
`, n.Name, n.Port, n.HTTPPort, filepath.Join(n.Dir, "js"), sync, cluster, o.TLS.block())
	return os.WriteFile(filepath.Join(n.Dir, "server.conf"), []byte(conf), 0o644)
}

// FreePorts finds n free loopback TCP ports. They are free when found;
// another process could take one before it is used, which on a test
// machine's loopback does not happen in practice.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
