package harness

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
)

func TestCalibrate(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeNull(ctx, ln, 0) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeNull: %v", err)
		}
	}()

	// Small and short: 1,000 then 2,000 rps for 300 ms each, whatever the
	// machine could do (no timing assertions).
	var progress int
	c, err := Calibrate(ctx, CalibrateOptions{
		Target:       "http://" + ln.Addr().String(),
		MaxRate:      2000,
		StepDuration: 300 * time.Millisecond,
		Budget:       10 * time.Second,
		Progress:     func(CalibrationStep) { progress++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Steps) == 0 || progress != len(c.Steps) || c.Steps[0].Phase != "floor" {
		t.Fatalf("steps %+v, %d progress calls", c.Steps, progress)
	}
	if c.FloorRPS != CalibrateFloorRate || c.Steps[0].Sent != 300 {
		t.Errorf("floor at %g rps with %d sent, want %d rps, 300 sent", c.FloorRPS, c.Steps[0].Sent, CalibrateFloorRate)
	}
	// The cpu step holds min(CalibrateCPURate, MaxRate) and measures this
	// process's CPU: more than nothing for 600 requests.
	if len(c.Steps) < 2 || c.Steps[1].Phase != "cpu" || c.CPURate != 2000 || c.Steps[1].Sent != 600 {
		t.Errorf("second step %+v, cpu rate %g; want the cpu step at 2000 rps, 600 sent", c.Steps[1], c.CPURate)
	}
	if c.CPUUsPerReq <= 0 || c.CPUUsPerReq != c.Steps[1].CPUUsPerReq {
		t.Errorf("cpu per request %g, want > 0 and the cpu step's (%g)", c.CPUUsPerReq, c.Steps[1].CPUUsPerReq)
	}
	for _, st := range c.Steps {
		if (st.Verdict == "ok") != st.Pass || st.Verdict == "" {
			t.Errorf("step at %g rps: verdict %q with pass %v", st.RateRPS, st.Verdict, st.Pass)
		}
	}
	if c.Client != string(loadgen.ClientFastHTTP) {
		t.Errorf("client %q, want the default %q", c.Client, loadgen.ClientFastHTTP)
	}
	if c.CeilingRPS > 2000 {
		t.Errorf("ceiling %g above the highest rate tried", c.CeilingRPS)
	}

	cache := t.TempDir()
	if _, err := LatestCalibration(cache); !errors.Is(err, ErrNoCalibration) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("before any calibration: %v, want ErrNoCalibration", err)
	}
	if _, err := c.Save(cache); err != nil {
		t.Fatal(err)
	}
	got, err := LatestCalibration(cache)
	if err != nil {
		t.Fatal(err)
	}
	if got.CeilingRPS != c.CeilingRPS || got.FloorMs != c.FloorMs || !got.At.Equal(c.At) {
		t.Errorf("read back %+v, want %+v", *got, c.Calibration)
	}
	// It says what it measured, so a run takes it as fresh: this build,
	// this machine, just now.
	if got.Build != BuildID() || got.Machine != MachineID() || got.BudgetS != 10 {
		t.Errorf("build %q machine %q budget %g, want %q, %q, 10", got.Build, got.Machine, got.BudgetS, BuildID(), MachineID())
	}
	if fresh, err := FreshCalibration(cache, c.At.Add(time.Hour)); err != nil || fresh.CeilingRPS != c.CeilingRPS {
		t.Errorf("FreshCalibration an hour later: %+v, %v; want it", fresh, err)
	}
	if _, err := FreshCalibration(cache, c.At.Add(25*time.Hour)); !errors.Is(err, ErrStaleCalibration) {
		t.Errorf("FreshCalibration a day later: %v, want ErrStaleCalibration", err)
	}
	// A calibration saved under the achieved-only rule is not used.
	c.CeilingRule = ""
	if _, err := c.Save(cache); err != nil {
		t.Fatal(err)
	}
	if _, err := LatestCalibration(cache); err == nil || !strings.Contains(err.Error(), "older ceiling rule") {
		t.Errorf("an old-rule calibration: %v, want refused", err)
	}
}

func TestCalibrateRefusesRemote(t *testing.T) {
	_, err := Calibrate(context.Background(), CalibrateOptions{Target: "http://192.0.2.1:80"})
	if !errors.Is(err, loadgen.ErrNotLoopback) {
		t.Errorf("got %v, want ErrNotLoopback", err)
	}
}

// emfileListener fails Accept with EMFILE, wrapped as net does, n times,
// then hands out conn.
type emfileListener struct {
	net.Listener
	n    int
	conn net.Conn
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.n > 0 {
		l.n--
		return nil, &net.OpError{Op: "accept", Net: "tcp4", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.conn, nil
}

// TestPatientListener: out of file descriptors, the null endpoint waits
// and accepts again instead of ending (fasthttp's Serve would return).
func TestPatientListener(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	l := patientListener{&emfileListener{n: 3, conn: a}}
	c, err := l.Accept()
	if err != nil || c != a {
		t.Fatalf("Accept = %v, %v; want the conn after 3 EMFILEs", c, err)
	}
	closed := errors.New("closed")
	if _, err := (patientListener{failing{closed}}).Accept(); !errors.Is(err, closed) {
		t.Errorf("Accept on a closed listener = %v, want its error", err)
	}
}

type failing struct{ err error }

func (f failing) Accept() (net.Conn, error) { return nil, f.err }
func (failing) Close() error                { return nil }
func (failing) Addr() net.Addr              { return &net.TCPAddr{} }

func TestCalibrationStale(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	fresh := results.Calibration{At: now.Add(-time.Hour), Build: BuildID(), Machine: MachineID()}
	for _, tc := range []struct {
		name string
		edit func(*results.Calibration)
		want string // a part of the reason; "" for fresh
	}{
		{"this build, this machine, an hour old", func(*results.Calibration) {}, ""},
		{"23 h old is still fresh", func(c *results.Calibration) { c.At = now.Add(-23 * time.Hour) }, ""},
		{"saved before builds were recorded", func(c *results.Calibration) { c.Build = "" }, "does not say which build"},
		{"another build", func(c *results.Calibration) { c.Build = "abc sha256:00" }, "another build"},
		{"another machine", func(c *results.Calibration) { c.Machine = "elsewhere" }, "another machine"},
		{"older than a day", func(c *results.Calibration) { c.At = now.Add(-25 * time.Hour) }, "25h0m0s old"},
		{"from the future", func(c *results.Calibration) { c.At = now.Add(time.Hour) }, "future"},
	} {
		c := fresh
		tc.edit(&c)
		got := CalibrationStale(&c, now)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if id := BuildID(); !strings.Contains(id, "sha256:") || strings.Contains(id, "unknown") {
		t.Errorf("BuildID %q, want the executable's hash", id)
	}
}
