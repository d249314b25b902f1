package proc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ready waits (generously: the machine may be busy) until the log holds a
// line "ready", which the child prints once its traps are set.
func ready(t *testing.T, p *Proc) {
	t.Helper()
	said := func() bool { return lineIn(p.Tail(5), "ready") }
	if !waitFor(func() bool { return said() || !p.Alive() }, 30*time.Second) || !said() {
		t.Fatalf("the child never said ready (state %v); its log: %q", p.State(), p.Tail(10))
	}
}

func lineIn(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// start starts sh -c script with its log in a temporary folder.
func start(t *testing.T, script string) *Proc {
	t.Helper()
	p, err := Start(exec.Command("sh", "-c", script), Options{Log: filepath.Join(t.TempDir(), "child.log")})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

// dead reports whether process pid is gone (or a zombie nobody reaps).
func dead(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, state, ok := statGroup(string(st))
	return ok && state == "Z"
}

func TestStopEndsAChildThatHeedsTERM(t *testing.T) {
	p := start(t, `trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done`)
	ready(t, p)
	pid := p.PID()
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("Stop: got %v, want nil (it exits on TERM)", err)
	}
	if p.Alive() || p.PID() != 0 {
		t.Errorf("after Stop: Alive %v, PID %d; want false, 0", p.Alive(), p.PID())
	}
	if GroupAlive(pid) {
		t.Errorf("group %d alive after Stop", pid)
	}
	if got := p.Tail(1); !lineIn(got, "bye") {
		t.Errorf("Tail(1) = %q, want [bye]: the child's trap ran", got)
	}
	if err := p.Signal(0); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Signal after Stop: got %v, want ErrNotRunning", err)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("Stop again: got %v, want nil", err)
	}
}

func TestStopKillsAChildThatIgnoresTERM(t *testing.T) {
	p := start(t, `trap '' TERM; echo ready; while :; do sleep 0.05; done`)
	ready(t, p)
	pid := p.PID()
	err := p.Stop(200 * time.Millisecond)
	if !errors.Is(err, ErrKilled) {
		t.Fatalf("Stop: got %v, want ErrKilled", err)
	}
	if p.Alive() || GroupAlive(pid) {
		t.Errorf("after Stop: child alive %v, group alive %v; want both false", p.Alive(), GroupAlive(pid))
	}
	if st := p.State(); st == nil || st.Exited() {
		t.Errorf("State: got %v, want killed by a signal", st)
	}
}

// The leader heeds TERM, a process it started does not: Stop does not
// return while that one lives, it kills it.
func TestStopEndsTheChildsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	p := start(t, `(trap '' TERM; echo ready; exec sleep 600) & echo $! > `+pidFile+`; wait`)
	ready(t, p)
	var grandchild int
	if !waitFor(func() bool {
		b, _ := os.ReadFile(pidFile)
		grandchild, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return grandchild > 0
	}, 30*time.Second) {
		t.Fatal("no grandchild pid")
	}
	pgid := p.PID()
	err := p.Stop(200 * time.Millisecond)
	if !errors.Is(err, ErrKilled) {
		t.Errorf("Stop: got %v, want ErrKilled (the grandchild ignores TERM)", err)
	}
	if !dead(grandchild) {
		t.Errorf("grandchild %d alive after Stop", grandchild)
	}
	if GroupAlive(pgid) {
		t.Errorf("group %d alive after Stop", pgid)
	}
}

func TestKill(t *testing.T) {
	p := start(t, `trap '' TERM; echo ready; while :; do sleep 0.05; done`)
	ready(t, p)
	pid := p.PID()
	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: got %v, want nil", err)
	}
	if p.Alive() || GroupAlive(pid) {
		t.Errorf("after Kill: child alive %v, group alive %v; want both false", p.Alive(), GroupAlive(pid))
	}
}

func TestStopGroupOfNone(t *testing.T) {
	if err := StopGroup(0, time.Second, nil); err == nil {
		t.Error("StopGroup(0): got nil, want an error (0 is not a group)")
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", tailBytes) // pushes the first line out of what Tail reads
	for _, tc := range []struct {
		name string
		have string
		n    int
		want []string
	}{
		{"last two", "a\nb\nc\n", 2, []string{"b", "c"}},
		{"fewer than asked", "a\n", 5, []string{"a"}},
		{"blank lines skipped", "a\n\n  \nb\n\n", 2, []string{"a", "b"}},
		{"no final newline", "a\nb", 1, []string{"b"}},
		{"progress rewritten", "run 1s\r\033[Krun 2s\r\033[Kdone\n", 1, []string{"done"}},
		{"indentation kept", "panic: x\n\tmain.go:1 \n", 2, []string{"panic: x", "\tmain.go:1"}},
		{"a cut first line dropped", "first\n" + long + "\nlast\n", 3, []string{"last"}},
		{"none asked", "a\n", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, []byte(tc.have), 0o644); err != nil {
				t.Fatal(err)
			}
			got := Tail(path, tc.n)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := Tail(filepath.Join(dir, "missing"), 3); got != nil {
		t.Errorf("a missing file: got %q, want nil", got)
	}
}

func TestHead(t *testing.T) {
	got := Head("\n# pkg\n./a.go:1: undefined: x\r\n./a.go:2: y\n", 2)
	want := []string{"# pkg", "./a.go:1: undefined: x"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestStatGroup(t *testing.T) {
	for _, tc := range []struct {
		have      string
		wantGroup int
		wantState string
		wantOK    bool
	}{
		{"12 (sh) S 1 12 12 0", 12, "S", true},
		{"13 (a) b) (c) Z 1 7 7 0", 7, "Z", true}, // a name with parentheses and spaces
		{"14 (sh S 1", 0, "", false},
		{"15 (sh) S", 0, "", false},
	} {
		g, s, ok := statGroup(tc.have)
		if g != tc.wantGroup || s != tc.wantState || ok != tc.wantOK {
			t.Errorf("statGroup(%q) = %d, %q, %v; want %d, %q, %v", tc.have, g, s, ok, tc.wantGroup, tc.wantState, tc.wantOK)
		}
	}
}

// init keeps the main goroutine on the main thread, so that no test's
// goroutine runs there: Go does not end the main thread when a goroutine
// locked to it returns (it wedges it), and the test below needs a thread
// that ends.
func init() { runtime.LockOSThread() }

// A child started from a goroutine locked to its thread, which then
// returns (Go ends that thread), lives on: its Pdeathsig is tied to a
// thread that lasts, not to the one that asked for it.
func TestChildOutlivesTheThreadThatStartedIt(t *testing.T) {
	log := filepath.Join(t.TempDir(), "child.log")
	type started struct {
		p   *Proc
		tid int
		err error
	}
	got := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		p, err := Start(exec.Command("sh", "-c", `trap 'echo still here' USR1; echo ready; while :; do sleep 0.05; done`), Options{Log: log})
		got <- started{p, syscall.Gettid(), err}
	}()
	s := <-got
	if s.err != nil {
		t.Fatalf("start: %v", s.err)
	}
	if s.tid == os.Getpid() {
		t.Fatal("the goroutine ran on the main thread, which init holds")
	}
	p := s.p
	t.Cleanup(func() { p.Kill() })
	ready(t, p)
	task := "/proc/self/task/" + strconv.Itoa(s.tid)
	if !waitFor(func() bool { _, err := os.Stat(task); return err != nil }, 30*time.Second) {
		t.Fatalf("thread %d of the returned goroutine is still there", s.tid)
	}
	// The thread is gone, so its death signal was sent, if any: the child
	// must still answer.
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatalf("the child did not outlive the thread that started it: %v (state %v)", err, p.State())
	}
	if !waitFor(func() bool { return lineIn(p.Tail(5), "still here") || !p.Alive() }, 30*time.Second) || !p.Alive() {
		t.Fatalf("the child did not outlive the thread that started it: state %v, log %q", p.State(), p.Tail(5))
	}
}
