// Package broker runs the Kafka broker a commbench run talks to — a local
// Apache Kafka 4.x from Maven Central jars, an embedded kfake process, or an
// external cluster — and measures what the harness needs from it: topics,
// and consumer lag read from the broker itself.
//
// A run calls Up, then NewClient(b.Addrs, o.Security) for CreateTopics, Lag
// (every second) and DeleteTopics, then Stop. Local and embedded brokers are
// separate processes in their own process group, so their CPU can be read
// from /proc by PID and Stop leaves nothing behind.
//
// The package reads no commbench setting from the environment: the
// addresses, the cache folder and the Kafka security come in Options (cmd/
// reads KAFKA_BROKERS, COMMBENCH_CACHE and KAFKA_TLS*/KAFKA_SASL_* once).
// Only FindJava looks at JAVA_HOME, the way exec.LookPath looks at PATH.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/internal/proc"
)

// Kind says which broker runs.
type Kind string

// The kinds of broker.
const (
	// Auto picks External when brokers are given, else Local when Java 17+
	// and Maven (or a complete jar cache) are there, else Embedded.
	Auto Kind = "auto"
	// Local is Apache Kafka (KRaft, one combined broker and controller) run
	// from jars that Maven resolves into the cache folder.
	Local Kind = "local"
	// Embedded is kfake, a Kafka-protocol broker written in Go, run as a
	// child commbench process. It is not Apache Kafka: its timings are not
	// Kafka's.
	Embedded Kind = "embedded"
	// External is a cluster someone else runs (Options.Brokers).
	External Kind = "external"
)

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Auto, Local, Embedded, External:
		return k, nil
	}
	return "", fmt.Errorf("unknown broker kind %q: want auto, local, embedded or external", s)
}

// EmbeddedLabel is how every log line and report names an embedded broker.
const EmbeddedLabel = "embedded kfake (not Apache Kafka)"

// Defaults of Options.
const (
	DefaultPartitions   = 1
	DefaultHeap         = "1g"
	DefaultReadyTimeout = 2 * time.Minute
	DefaultStopTimeout  = 10 * time.Second
)

// Options say which broker Up starts and how. The zero value is a usable
// default: Auto, the cache in DefaultCacheDir(), a new temporary data
// folder, plaintext.
type Options struct {
	// Kind of broker; "" means Auto.
	Kind Kind
	// Brokers are the addresses (host:port) of an external cluster. With
	// Auto, any address means External; with External, at least one is
	// needed. The environment is not read: the caller passes KAFKA_BROKERS
	// here (see ParseAddrs).
	Brokers []string
	// Security secures the connections to an External cluster (TLS, SASL).
	// Up refuses a non-zero Security for Local and Embedded brokers, which
	// make their own (see Protocol).
	Security kafkasec.Config
	// Protocol is the security protocol of a Local broker's listener: ""
	// or Plaintext, SSL or SASLSSL (it then makes its CA, certificate and
	// users; Broker.Security and ClientEnv say how to connect). Embedded
	// and External brokers refuse anything but plaintext.
	Protocol Protocol
	// Version is the Apache Kafka release a Local broker runs, resolved
	// from Maven Central like the default (see CheckVersion); "" means
	// KafkaVersion.
	Version string
	// CacheDir holds the Maven-resolved jars, one folder per Kafka version.
	// "" means DefaultCacheDir().
	CacheDir string
	// DataDir holds the broker's logs, configuration and data. "" means a
	// new temporary folder that Stop removes; a given folder is kept.
	DataDir string
	// Partitions is the broker's default partition count (num.partitions);
	// 0 means DefaultPartitions.
	Partitions int
	// Heap is the JVM heap of a local broker (-Xms and -Xmx); "" means
	// DefaultHeap.
	Heap string
	// Exe is the commbench binary that serves an embedded broker (its
	// hidden "broker serve-embedded" command); "" means os.Executable(),
	// which is right only inside the commbench binary itself.
	Exe string
	// Detach lets the broker outlive this process (commbench broker up).
	// Otherwise the kernel kills it (SIGKILL, Pdeathsig) when this process
	// dies without Stop: a test that fails hard or a run killed with -9
	// leaves no JVM behind, though its temporary data folder stays. (Linux
	// ties Pdeathsig to the thread that started the child; internal/proc
	// starts it from a thread that lasts as long as the process.)
	Detach bool
	// ReadyTimeout bounds how long Up waits for the broker to be ready
	// (not counting the jar download); 0 means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o *Options) defaults() {
	if o.Kind == "" {
		o.Kind = Auto
	}
	if o.Protocol == "" {
		o.Protocol = Plaintext
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Partitions <= 0 {
		o.Partitions = DefaultPartitions
	}
	if o.Heap == "" {
		o.Heap = DefaultHeap
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

func (o *Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Log, "broker: "+format+"\n", args...)
}

// DefaultCacheDir is where commbench keeps what it downloads unless told
// otherwise (cmd/commbench: COMMBENCH_CACHE): commbench under the user's
// cache folder (~/.cache/commbench on Linux), else under the temporary
// folder.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "commbench")
	}
	return filepath.Join(os.TempDir(), "commbench-cache")
}

// Broker is a running broker. Its exported fields are what a state file
// keeps (Save, Load), so a later process can Stop it.
type Broker struct {
	Kind    Kind     `json:"kind"`
	Addrs   []string `json:"addrs"`
	Version string   `json:"version"` // Kafka version; for Embedded the kfake module version
	PID     int      `json:"pid"`     // 0 for External; also the process group id
	DataDir string   `json:"data_dir,omitempty"`
	LogFile string   `json:"log_file,omitempty"` // the broker's own log
	// OwnsDataDir says Stop removes DataDir.
	OwnsDataDir bool      `json:"owns_data_dir,omitempty"`
	Started     time.Time `json:"started"`
	// Protocol is a Local broker's listener security; "" is plaintext.
	Protocol Protocol `json:"protocol,omitempty"`
	// Jars is the folder of a Local broker's Kafka jars (its libs/ holds
	// the class path of Kafka's own tools).
	Jars string `json:"jars,omitempty"`

	cmd  *exec.Cmd       // set in the process that started the broker
	done <-chan struct{} // closed when the process ended and was reaped
	sec  kafkasec.Config // how waitReady connects; set by Up
}

// String says what runs where, in words for a log line.
func (b *Broker) String() string {
	addrs := strings.Join(b.Addrs, ",")
	switch b.Kind {
	case Local:
		if b.Protocol != "" && b.Protocol != Plaintext {
			return fmt.Sprintf("local Apache Kafka %s at %s (%s, pid %d)", b.Version, addrs, b.Protocol.listenerName(), b.PID)
		}
		return fmt.Sprintf("local Apache Kafka %s at %s (pid %d)", b.Version, addrs, b.PID)
	case Embedded:
		return fmt.Sprintf("%s %s at %s (pid %d)", EmbeddedLabel, b.Version, addrs, b.PID)
	case External:
		return fmt.Sprintf("external Kafka at %s", addrs)
	}
	return fmt.Sprintf("%s broker at %s", b.Kind, addrs)
}

// Up starts the broker o asks for and returns once it is ready: for Local
// and Embedded, Metadata answers and a message round-trips through
// ProbeTopic with acks=all; for External, every address answers (Probe).
// If the broker cannot start, Up stops what it started.
func Up(ctx context.Context, o Options) (*Broker, error) {
	o.defaults()
	if err := CheckVersion(o.Version); err != nil {
		return nil, err
	}
	kind, why, err := choose(o)
	if err != nil {
		return nil, err
	}
	if o.Version != "" && kind != Local {
		return nil, fmt.Errorf("%w: Kafka %s was asked for, but the %s broker is not a local Apache Kafka (--kafka-version is for --kind local)", ErrVersion, o.Version, kind)
	}
	if why != "" {
		o.logf("warning: %s", why)
	}
	switch kind {
	case External:
		if err := Probe(ctx, o.Brokers, o.Security); err != nil {
			return nil, err
		}
		b := &Broker{Kind: External, Addrs: o.Brokers, Version: Release(ctx, o.Brokers[0], o.Security), Started: time.Now()}
		o.logf("using %s", b)
		return b, nil
	case Local:
		return upLocal(ctx, o)
	case Embedded:
		return upEmbedded(ctx, o)
	}
	return nil, fmt.Errorf("unknown broker kind %q", kind)
}

// choose resolves Auto; why is a warning to show when it falls back to
// Embedded.
func choose(o Options) (k Kind, why string, err error) {
	if o.Protocol == "" {
		o.Protocol = Plaintext
	}
	switch o.Kind {
	case External:
		if o.Protocol != Plaintext {
			return "", "", fmt.Errorf("%w: an external cluster's security is its own (set KAFKA_TLS*, KAFKA_SASL_*), not --security %s", ErrSecurity, o.Protocol)
		}
		if len(o.Brokers) == 0 {
			return "", "", errors.New("external broker: no address: set KAFKA_BROKERS or --brokers (host:port[,host:port…])")
		}
		return External, "", nil
	case Local, Embedded:
		if o.Security.Enabled() && o.Protocol == Plaintext {
			return "", "", fmt.Errorf("%w (%s), but the %s broker speaks plaintext (a local one can listen with --security ssl or sasl_ssl)", ErrSecurity, o.Security, o.Kind)
		}
		if o.Kind == Embedded && o.Protocol != Plaintext {
			return "", "", fmt.Errorf("%w: the embedded broker speaks plaintext only, not %s: use a local Apache Kafka (--kind local)", ErrSecurity, o.Protocol)
		}
		return o.Kind, "", nil
	case Auto:
	default:
		return "", "", fmt.Errorf("unknown broker kind %q: want auto, local, embedded or external", o.Kind)
	}
	if len(o.Brokers) > 0 && o.Protocol == Plaintext {
		return External, "", nil
	}
	if o.Protocol != Plaintext {
		if err := LocalPossible(o.CacheDir); err != nil {
			return "", "", fmt.Errorf("a %s broker is a local Apache Kafka: %w", o.Protocol, err)
		}
		return Local, "", nil
	}
	if o.Security.Enabled() {
		return "", "", fmt.Errorf("%w (%s), but no external address is given and a local or embedded broker speaks plaintext", ErrSecurity, o.Security)
	}
	if err := LocalPossible(o.CacheDir); err != nil {
		return Embedded, fmt.Sprintf("%v; using %s", err, EmbeddedLabel), nil
	}
	return Local, "", nil
}

// LocalPossible says why a Local broker cannot run here, or nil when it
// can: Java 17+ is needed, and Maven or complete Kafka jars under cache.
func LocalPossible(cache string) error {
	if _, _, err := FindJava(); err != nil {
		return fmt.Errorf("no local Kafka: %w", err)
	}
	if jarsComplete(cache) {
		return nil
	}
	if _, err := exec.LookPath("mvn"); err != nil {
		return fmt.Errorf("no local Kafka: Maven (mvn) is not on PATH and %s holds no complete Kafka %s jars", JarDir(cache), KafkaVersion)
	}
	return nil
}

// Running reports whether the broker's process is alive (not a zombie).
// An External broker always counts as running.
func (b *Broker) Running() bool {
	if b.Kind == External {
		return true
	}
	if b.done != nil {
		select {
		case <-b.done:
			return false
		default:
			return true
		}
	}
	return alive(b.PID) && b.isOurs()
}

// isOurs reports whether process b.PID still runs the broker a state file
// describes, not another program that got its PID after a reboot: its
// command line names kafka.Kafka or the embedded broker's command.
func (b *Broker) isOurs() bool {
	if b.cmd != nil {
		return true
	}
	cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", b.PID))
	if err != nil {
		return false
	}
	args := strings.Split(string(cl), "\x00")
	want := "kafka.Kafka"
	if b.Kind == Embedded {
		want = ServeEmbeddedCommand[1]
	}
	return slices.Contains(args, want)
}

// Stop stops the broker: SIGTERM to its process group, up to
// DefaultStopTimeout (or ctx's deadline, if sooner) for it to exit, then
// SIGKILL. It removes the data folder if Up made it. Stopping an External
// broker does nothing; stopping a stopped broker is not an error.
func (b *Broker) Stop(ctx context.Context) error {
	if b.Kind == External || b.PID <= 0 {
		return nil
	}
	var err error
	if b.cmd != nil || b.isOurs() {
		err = stopGroup(ctx, b.PID, b.done)
	}
	if b.done != nil {
		<-b.done
	}
	if err == nil && b.OwnsDataDir && b.DataDir != "" {
		err = os.RemoveAll(b.DataDir)
	}
	return err
}

// stopGroup stops process group pgid (proc.StopGroup): SIGTERM, up to
// DefaultStopTimeout (or ctx's deadline, if sooner) for it to end, then
// SIGKILL. A group that had to be killed is stopped all the same.
func stopGroup(ctx context.Context, pgid int, done <-chan struct{}) error {
	grace := DefaultStopTimeout
	if d, ok := ctx.Deadline(); ok {
		grace = max(0, min(grace, time.Until(d)))
	}
	if err := proc.StopGroup(pgid, grace, done); err != nil && !errors.Is(err, proc.ErrKilled) {
		return err
	}
	return nil
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	return procState(st) != 'Z'
}

// procState returns the state letter of a /proc/PID/stat line.
func procState(stat []byte) byte {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0
	}
	return s[i+2]
}

// GroupAlive reports whether any live process is left in the process group
// of a broker whose PID was pid. Tests use it to check that Stop left
// nothing behind.
func GroupAlive(pid int) bool { return proc.GroupAlive(pid) }

// Save writes the broker's state to path as JSON.
func (b *Broker) Save(path string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads a broker's state written by Save.
func Load(path string) (*Broker, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b Broker
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("broker state %s: %w", path, err)
	}
	return &b, nil
}

// tails returns the last lines of each non-empty file, for an error
// message.
func tails(files []string) string {
	var sb strings.Builder
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			continue
		}
		fmt.Fprintf(&sb, "\n--- last lines of %s:\n%s", f, strings.Join(proc.Tail(f, 30), "\n"))
	}
	return sb.String()
}

// startProcess starts cmd as the system under test (niced), in its own
// process group with stdout and stderr appended to logFile (proc.Start),
// and returns the Broker that tracks it.
func startProcess(o Options, cmd *exec.Cmd, logFile string) (*Broker, error) {
	host.Nice(cmd, host.SUTNice()) // the system under test runs after the generator
	// Without Detach, a safety net for in-process use (tests, commbench
	// run): the kernel kills the broker if this process dies without Stop.
	p, err := proc.Start(cmd, proc.Options{Log: logFile, Detach: o.Detach})
	if err != nil {
		return nil, err
	}
	return &Broker{PID: cmd.Process.Pid, cmd: cmd, done: p.Done(), Started: time.Now()}, nil
}

// waitReady polls until the broker answers Metadata and round-trips a
// message, the process dies, or the timeout passes.
func waitReady(ctx context.Context, o Options, b *Broker, logFiles ...string) error {
	ctx, cancel := context.WithTimeout(ctx, o.ReadyTimeout)
	defer cancel()
	var last error
	for {
		select {
		case <-b.done:
			return fmt.Errorf("%s broker exited during startup (%v)%s", b.Kind, b.cmd.ProcessState, tails(logFiles))
		default:
		}
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		last = roundTripOnce(rctx, b.Addrs, b.sec)
		rcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s broker not ready after %v: %w%s", b.Kind, o.ReadyTimeout, last, tails(logFiles))
		case <-b.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// roundTripOnce probes with a fresh client: a kafka-go Transport that saw a
// refused connection keeps that error for a while.
func roundTripOnce(ctx context.Context, addrs []string, sec kafkasec.Config) error {
	return withClient(addrs, sec, func(c *Client) error {
		if err := c.Probe(ctx); err != nil {
			return err
		}
		return c.RoundTrip(ctx)
	})
}
