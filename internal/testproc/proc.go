package testproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// builds holds one build per package for the test process.
var builds sync.Map // package path -> func() (string, error)

// Build compiles a main package (an import path) once per test process
// and returns the binary's path.
func Build(pkg string) (string, error) {
	f, _ := builds.LoadOrStore(pkg, sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "keyplane-testproc")
		if err != nil {
			return "", err
		}
		bin := filepath.Join(dir, filepath.Base(pkg))
		if strings.HasSuffix(pkg, "/v2") {
			bin = filepath.Join(dir, filepath.Base(strings.TrimSuffix(pkg, "/v2")))
		}
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
		return bin, nil
	}))
	return f.(func() (string, error))()
}

// Proc is one running child process.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	tail *tail
}

// start runs bin with args; each output line goes to watch (if any) and
// to the process's tail, which failures print.
func start(name, bin string, args, env []string, watch func(string)) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one pipe, lines in order
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{}), tail: &tail{}}
	go func() {
		p.read(out, watch)
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *Proc) read(r io.Reader, watch func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.tail.add(line)
		if watch != nil {
			watch(line)
		}
	}
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *Proc) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// Stop asks the process to end (SIGTERM) and kills it after timeout.
func (p *Proc) Stop(timeout time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
	}
}

// Tail is the process's last lines of output.
func (p *Proc) Tail() string { return p.tail.String() }

// logTailOnFailure prints the process's last lines if the test failed.
func (p *Proc) logTailOnFailure(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last output of %s:\n%s", p.Name, p.Tail())
		}
	})
}

// tail keeps the last lines of a process's output.
type tail struct {
	mu    sync.Mutex
	lines []string
}

const tailLines = 40

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > 2*tailLines {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-tailLines:]...)
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	from := max(0, len(t.lines)-tailLines)
	return strings.Join(t.lines[from:], "\n")
}

// ExitCode waits for the process to end and returns its exit code (-1 when
// a signal ended it).
func (p *Proc) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}
