package testproc

import (
	"regexp"
	"testing"
	"time"
)

// KeyplanePkg is keyplane's main package.
const KeyplanePkg = "github.com/keyplane/keyplane/cmd/keyplane"

// Owner is the bootstrap owner every replica started here is given.
const Owner = "alice:alice-password"

// Replica is one `keyplane serve` process.
type Replica struct {
	*Proc
	// Addr is where it serves HTTP (host:port).
	Addr string
	args []string
	t    testing.TB
}

var servingRE = regexp.MustCompile(`msg="keyplane serving" addr=(\S+)`)

// StartReplica runs `keyplane serve --addr 127.0.0.1:0 args...` and waits
// until it serves HTTP. It is killed when the test ends.
func StartReplica(t testing.TB, name string, args ...string) *Replica {
	t.Helper()
	r := &Replica{args: args, t: t}
	r.Proc = r.start(name)
	return r
}

// Restart starts the replica again, with the same arguments, after it
// exited; it may serve on another port.
func (r *Replica) Restart() {
	r.t.Helper()
	r.Proc = r.start(r.Name)
}

// URL is the replica's base URL.
func (r *Replica) URL() string { return "http://" + r.Addr }

func (r *Replica) start(name string) *Proc {
	t := r.t
	t.Helper()
	addr := make(chan string, 1)
	watch := func(line string) {
		if m := servingRE.FindStringSubmatch(line); m != nil {
			select {
			case addr <- m[1]:
			default:
			}
		}
	}
	p := startKeyplane(t, name, append([]string{"serve", "--addr", "127.0.0.1:0"}, r.args...), watch)
	select {
	case r.Addr = <-addr:
		return p
	case <-p.done:
		t.Fatalf("%s exited before serving:\n%s", name, p.Tail())
	case <-time.After(90 * time.Second):
		p.Kill()
		t.Fatalf("%s did not serve within 90s:\n%s", name, p.Tail())
	}
	return nil
}

// StartKeyplane runs `keyplane args...` with the bootstrap owner set and
// waits for nothing: for a process that is expected to give up, say. It is
// killed when the test ends.
func StartKeyplane(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	return startKeyplane(t, name, args, nil)
}

func startKeyplane(t testing.TB, name string, args []string, watch func(string)) *Proc {
	t.Helper()
	bin, err := Build(KeyplanePkg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := start(name, bin, args, []string{"KEYPLANE_BOOTSTRAP_OWNER=" + Owner}, watch)
	if err != nil {
		t.Fatal(err)
	}
	p.logTailOnFailure(t)
	t.Cleanup(p.Kill)
	return p
}
