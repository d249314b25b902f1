package broker_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// brokers are the kinds every integration test runs against.
var brokers = []struct {
	name string
	get  func(testing.TB) *broker.Broker
}{
	{"embedded", embeddedKfake},
	{"local", localKafka},
}

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		have    string
		want    broker.Kind
		wantErr bool
	}{
		{"auto", broker.Auto, false},
		{"local", broker.Local, false},
		{"embedded", broker.Embedded, false},
		{"external", broker.External, false},
		{"kafka", "", true}, // not a kind
		{"", "", true},      // empty is not a kind either: flags default to auto
	} {
		got, err := broker.ParseKind(tc.have)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseKind(%q) = %q, %v; want %q, error %v", tc.have, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSplitAddrs(t *testing.T) {
	got := strings.Join(broker.SplitAddrs(" 127.0.0.1:9092, ,127.0.0.2:9093,"), "|")
	if want := "127.0.0.1:9092|127.0.0.2:9093"; got != want {
		t.Errorf("SplitAddrs = %q, want %q", got, want)
	}
}

func TestParseAddrs(t *testing.T) {
	for _, tc := range []struct {
		have    string
		want    string // the addresses joined by |
		wantErr bool
	}{
		{"", "", false}, // none is not an error: the caller decides
		{" 127.0.0.1:9092, ,kafka-1:9093,", "127.0.0.1:9092|kafka-1:9093", false}, // blanks dropped
		{"[::1]:9092", "[::1]:9092", false},                                       // IPv6 in brackets
		{"localhost", "", true},                                                   // no port
		{"localhost:", "", true},                                                  // empty port
		{":9092", "", true},                                                       // no host
		{"localhost:kafka", "", true},                                             // a service name, not a number
		{"localhost:0", "", true},                                                 // port 0 cannot be dialled
		{"localhost:65536", "", true},                                             // out of range
		{"127.0.0.1:9092,127.0.0.1", "", true},                                    // one bad address spoils the list
	} {
		got, err := broker.ParseAddrs(tc.have)
		if strings.Join(got, "|") != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseAddrs(%q) = %q, %v; want %q, error %v", tc.have, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !errors.Is(err, broker.ErrAddr) {
			t.Errorf("ParseAddrs(%q) error %v does not wrap ErrAddr", tc.have, err)
		}
	}
}

// TLS or SASL settings with a broker that speaks plaintext are refused
// before anything starts.
func TestChooseSecurity(t *testing.T) {
	sec := kafkasec.Config{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
	ext := []string{"127.0.0.1:9092"}
	for _, tc := range []struct {
		have    broker.Options
		want    broker.Kind
		wantErr error
	}{
		{broker.Options{Kind: broker.External, Brokers: ext, Security: sec}, broker.External, nil},
		{broker.Options{Kind: broker.Auto, Brokers: ext, Security: sec}, broker.External, nil}, // addresses make Auto External
		{broker.Options{Kind: broker.Auto, Security: sec}, "", broker.ErrSecurity},             // Auto without addresses is local or embedded
		{broker.Options{Kind: broker.Local, Security: sec}, "", broker.ErrSecurity},
		{broker.Options{Kind: broker.Embedded, Security: sec}, "", broker.ErrSecurity},
		{broker.Options{Kind: broker.Embedded}, broker.Embedded, nil}, // plaintext is fine
		{broker.Options{Kind: broker.External}, "", nil},              // no address: an error, but not ErrSecurity
		// A secured listener is a local broker's: it makes its own CA and
		// users, so exported client settings do not stop it.
		{broker.Options{Kind: broker.Local, Protocol: broker.SASLSSL, Security: sec}, broker.Local, nil},
		{broker.Options{Kind: broker.Embedded, Protocol: broker.SSL}, "", broker.ErrSecurity},
		{broker.Options{Kind: broker.External, Brokers: ext, Protocol: broker.SASLSSL}, "", broker.ErrSecurity},
	} {
		got, err := broker.Choose(tc.have)
		if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && got != tc.want {
			t.Errorf("Choose(%s, %d addrs, security %v) = %q, %v; want %q, %v", tc.have.Kind, len(tc.have.Brokers), tc.have.Security.Enabled(), got, err, tc.want, tc.wantErr)
		}
	}
}

// Topic names without the prefix are refused before any connection.
func TestTopicPrefixRefused(t *testing.T) {
	ctx := context.Background()
	addrs := []string{closedAddr(t)}
	for _, name := range []string{"reactions", "commbench", "commbench.", "Commbench.x", "x.commbench.y"} {
		if err := broker.CreateTopics(ctx, addrs, kafkasec.Config{}, 1, "commbench.ok", name); !errors.Is(err, broker.ErrPrefix) {
			t.Errorf("CreateTopics(%q) = %v, want ErrPrefix", name, err)
		}
		if err := broker.DeleteTopics(ctx, addrs, kafkasec.Config{}, name); !errors.Is(err, broker.ErrPrefix) {
			t.Errorf("DeleteTopics(%q) = %v, want ErrPrefix", name, err)
		}
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// An unreachable external broker fails fast with an error that names the
// address and says what to check.
func TestExternalUnreachable(t *testing.T) {
	addr := closedAddr(t)
	for _, tc := range []struct {
		name string
		opts broker.Options
	}{
		{"external", broker.Options{Kind: broker.External, Brokers: []string{addr}}},
		{"auto with an address", broker.Options{Brokers: []string{addr}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			b, err := broker.Up(context.Background(), tc.opts)
			if err == nil {
				b.Stop(context.Background())
				t.Fatal("Up succeeded against a closed port")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Up took %v to fail, want under 5s", d)
			}
			for _, want := range []string{addr, "KAFKA_BROKERS", "unreachable"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// External without an address is an error naming what to set, and the
// environment is not read for one: KAFKA_BROKERS is cmd/commbench's to pass.
func TestExternalWithoutAddress(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", closedAddr(t))
	_, err := broker.Up(context.Background(), broker.Options{Kind: broker.External})
	if err == nil || !strings.Contains(err.Error(), "no address") || !strings.Contains(err.Error(), "KAFKA_BROKERS") {
		t.Errorf("Up(external, no address, KAFKA_BROKERS set) = %v, want the error that no address was given, naming KAFKA_BROKERS", err)
	}
}

// The CLI says the same, with exit code 1, within seconds.
func TestCLIExternalUnreachable(t *testing.T) {
	addr := closedAddr(t)
	cmd := exec.Command(commbench(t), "broker", "up", "--kind", "external", "--brokers", addr, "--state", filepath.Join(t.TempDir(), "b.json"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("broker up: %v, want exit code 1; stderr:\n%s", err, stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("broker up took %v to fail, want under 5s", d)
	}
	if !strings.Contains(stderr.String(), addr) {
		t.Errorf("stderr does not name %s:\n%s", addr, stderr.String())
	}
}

// An external broker that answers is used as it is: nothing to start or stop.
func TestExternal(t *testing.T) {
	e := embeddedKfake(t)
	b, err := broker.Up(context.Background(), broker.Options{Brokers: e.Addrs})
	if err != nil {
		t.Fatal(err)
	}
	if b.Kind != broker.External || b.PID != 0 || strings.Join(b.Addrs, ",") != strings.Join(e.Addrs, ",") {
		t.Errorf("Up(auto with brokers) = %+v, want external at %v", b, e.Addrs)
	}
	if err := b.Stop(context.Background()); err != nil {
		t.Errorf("Stop(external) = %v", err)
	}
	if !e.Running() {
		t.Error("stopping an external broker stopped the process behind it")
	}
}

// Topics are created with the partition count asked for, lag is measured
// from the broker per partition after producing N and committing M, and
// topics are deleted.
func TestTopicsAndLag(t *testing.T) {
	for _, bk := range brokers {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.get(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			topic := fmt.Sprintf("commbench.test.%s.%d", t.Name()[len("TestTopicsAndLag/"):], time.Now().UnixNano())
			group := topic + ".group"
			const partitions, produced, committed = 3, 30, 12

			c, err := broker.NewClient(b.Addrs, kafkasec.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.CreateTopics(ctx, partitions, topic); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.DeleteTopics(context.Background(), topic); err != nil {
					t.Errorf("DeleteTopics: %v", err)
				}
			}()
			// Creating it again is not an error.
			if err := c.CreateTopics(ctx, partitions, topic); err != nil {
				t.Errorf("CreateTopics again: %v", err)
			}

			produce(t, ctx, b.Addrs, topic, produced)
			// Before the group exists, everything is lag.
			if total, _, err := c.Lag(ctx, group, topic); err != nil || total != produced {
				t.Errorf("Lag before the group exists = %d, %v; want %d", total, err, produced)
			}
			got := consume(t, ctx, b.Addrs, topic, group, committed)

			total, per, err := c.Lag(ctx, group, topic)
			if err != nil {
				t.Fatal(err)
			}
			if total != produced-committed {
				t.Errorf("Lag total = %d, want %d (%d produced, %d committed)", total, produced-committed, produced, committed)
			}
			if len(per) != partitions {
				t.Errorf("Lag has %d partitions, want %d: %v", len(per), partitions, per)
			}
			var sum int64
			for p, n := range per {
				sum += n
				if n < 0 {
					t.Errorf("partition %d: lag %d < 0", p, n)
				}
			}
			if sum != total {
				t.Errorf("sum of partitions %d != total %d", sum, total)
			}
			t.Logf("lag %d per partition %v; committed per partition %v", total, per, got)

			// The package-level function agrees.
			if total2, _, err := broker.Lag(ctx, b.Addrs, kafkasec.Config{}, group, topic); err != nil || total2 != total {
				t.Errorf("broker.Lag = %d, %v; want %d", total2, err, total)
			}
			if b.Kind == broker.Local {
				checkLagWithKafkaTool(t, ctx, b, group, topic, per, got)
			}
		})
	}
}

// produce writes n messages with acks=all, keyed so they spread over
// partitions.
func produce(t *testing.T, ctx context.Context, addrs []string, topic string, n int) {
	t.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addrs...),
		Topic:        topic,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		Balancer:     &kafka.Hash{},
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte("author-" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consume reads m messages as group and commits each one, then leaves the
// group. It returns the committed count per partition.
func consume(t *testing.T, ctx context.Context, addrs []string, topic, group string, m int) map[int]int {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     addrs,
		GroupID:     group,
		Topic:       topic,
		MinBytes:    1,
		MaxBytes:    1 << 20,
		MaxWait:     100 * time.Millisecond,
		StartOffset: kafka.FirstOffset,
	})
	defer r.Close()
	got := map[int]int{}
	for range m {
		msg, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		if err := r.CommitMessages(ctx, msg); err != nil {
			t.Fatalf("commit: %v", err)
		}
		got[msg.Partition]++
	}
	return got
}

// checkLagWithKafkaTool compares per with the LAG column of Kafka's own
// kafka-consumer-groups tool.
func checkLagWithKafkaTool(t *testing.T, ctx context.Context, b *broker.Broker, group, topic string, per map[int]int64, committed map[int]int) {
	t.Helper()
	cmd, err := broker.ConsumerGroupTool(ctx, broker.DefaultCacheDir(), "--bootstrap-server", b.Addrs[0], "--describe", "--group", group)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kafka-consumer-groups --describe: %v\n%s", err, out)
	}
	tool, err := parseToolLag(string(out), topic)
	if err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	// The tool lists only partitions the group committed on; on the others
	// Lag counts the whole log.
	for p, n := range per {
		toolLag, listed := tool[p]
		switch {
		case listed && toolLag != n:
			t.Errorf("partition %d: Lag %d, Kafka's consumer-group tool says %d", p, n, toolLag)
		case !listed && committed[p] > 0:
			t.Errorf("partition %d: committed %d, yet Kafka's consumer-group tool does not list it", p, committed[p])
		}
	}
	if len(tool) > len(per) {
		t.Errorf("Kafka's consumer-group tool lists partitions %v, Lag %v", tool, per)
	}
	if t.Failed() {
		t.Logf("tool output:\n%s", out)
	}
}

// parseToolLag reads the PARTITION and LAG columns of the lines about topic
// in `kafka-consumer-groups --describe` output.
func parseToolLag(out, topic string) (map[int]int64, error) {
	var cols map[string]int
	lag := map[int]int64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] == "GROUP" {
			cols = map[string]int{}
			for i, name := range f {
				cols[name] = i
			}
			continue
		}
		if cols == nil || len(f) < len(cols) || f[cols["TOPIC"]] != topic {
			continue
		}
		p, err := strconv.Atoi(f[cols["PARTITION"]])
		if err != nil {
			return nil, fmt.Errorf("partition %q: %w", f[cols["PARTITION"]], err)
		}
		n, err := strconv.ParseInt(f[cols["LAG"]], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("lag %q: %w", f[cols["LAG"]], err)
		}
		lag[p] = n
	}
	if len(lag) == 0 {
		return nil, fmt.Errorf("no LAG for topic %s", topic)
	}
	return lag, nil
}

// The broker's process is its own process group, so CPU can be read from
// /proc by PID.
func TestBrokerProcess(t *testing.T) {
	for _, bk := range brokers {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.get(t)
			if b.PID <= 0 || !b.Running() || !broker.GroupAlive(b.PID) {
				t.Fatalf("%s: PID %d not running", b, b.PID)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", b.PID)); err != nil {
				t.Error(err)
			}
			if b.Version == "" || len(b.Addrs) != 1 || !strings.HasPrefix(b.Addrs[0], "127.0.0.1:") {
				t.Errorf("broker %+v: want a version and one loopback address", b)
			}
			if b.Kind == broker.Embedded && !strings.Contains(b.String(), broker.EmbeddedLabel) {
				t.Errorf("%q does not say %q", b, broker.EmbeddedLabel)
			}
		})
	}
}

// A JVM that dies during startup makes Up fail with the end of its output.
func TestLocalStartupFailureShowsLog(t *testing.T) {
	localKafka(t) // the jars are resolved
	_, err := broker.Up(context.Background(), broker.Options{Kind: broker.Local, Heap: "12zz"})
	if err == nil {
		t.Fatal("Up with a bad heap size succeeded")
	}
	for _, want := range []string{"exited during startup", "last lines of", "Invalid"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

// broker up prints KAFKA_BROKERS=… last, status sees it, and after broker
// down no process of its group is left and its data folder is gone.
func TestCLIUpStatusDown(t *testing.T) {
	for _, kind := range []string{"embedded", "local"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "local" {
				localKafka(t) // skip when the shared one would; the jars are resolved
			}
			exe := commbench(t)
			state := filepath.Join(t.TempDir(), "broker.json")
			run := func(args ...string) (string, error) {
				cmd := exec.Command(exe, append([]string{"broker"}, append(args, "--state", state)...)...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					err = fmt.Errorf("%v: %w\n%s", args, err, stderr.String())
				}
				return string(out), err
			}
			out, err := run("up", "--kind", kind, "--heap", "256m")
			if err != nil {
				t.Fatal(err)
			}
			b, err := broker.Load(state)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Stop(context.Background()) }) // if down fails
			lines := strings.Split(strings.TrimSpace(out), "\n")
			last := lines[len(lines)-1]
			if want := "KAFKA_BROKERS=" + strings.Join(b.Addrs, ","); last != want {
				t.Errorf("last line of up = %q, want %q", last, want)
			}
			if err := broker.Probe(context.Background(), b.Addrs, kafkasec.Config{}); err != nil {
				t.Errorf("probe after up: %v", err)
			}
			if _, err := run("up", "--kind", kind); err == nil || !strings.Contains(err.Error(), "already runs") {
				t.Errorf("second up = %v, want 'already runs'", err)
			}
			if out, err := run("status"); err != nil || !strings.Contains(out, "running") {
				t.Errorf("status = %q, %v; want running", out, err)
			}
			if out, err := run("down"); err != nil || !strings.Contains(out, "stopped") {
				t.Errorf("down = %q, %v", out, err)
			}
			if broker.GroupAlive(b.PID) {
				t.Errorf("process group %d still alive after down", b.PID)
			}
			if _, err := os.Stat(b.DataDir); !os.IsNotExist(err) {
				t.Errorf("data dir %s left after down: %v", b.DataDir, err)
			}
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Errorf("state %s left after down", state)
			}
			if out, err := run("status"); err != nil || !strings.Contains(out, "no broker") {
				t.Errorf("status after down = %q, %v; want no broker", out, err)
			}
		})
	}
}

// status notices a state file whose process is gone.
func TestCLIStatusStale(t *testing.T) {
	state := filepath.Join(t.TempDir(), "broker.json")
	// A process that has exited: its PID is free (reuse within the test is
	// improbable).
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	stale := &broker.Broker{Kind: broker.Embedded, Addrs: []string{"127.0.0.1:1"}, PID: c.Process.Pid}
	if err := stale.Save(state); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(commbench(t), "broker", "status", "--state", state).Output()
	if err == nil || !strings.Contains(string(out), "stale") {
		t.Errorf("status = %q, %v; want a stale-state message and an error", out, err)
	}
}

// A state file whose PID now belongs to another program: status calls it
// stale and down leaves that program alone.
func TestCLIDownSparesOtherProcess(t *testing.T) {
	other := exec.Command("sleep", "60")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		other.Process.Kill()
		other.Wait()
	}()
	exe := commbench(t)
	state := filepath.Join(t.TempDir(), "broker.json")
	for _, kind := range []broker.Kind{broker.Local, broker.Embedded} {
		b := &broker.Broker{Kind: kind, Addrs: []string{"127.0.0.1:1"}, PID: other.Process.Pid}
		if err := b.Save(state); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(exe, "broker", "status", "--state", state).Output(); err == nil || !strings.Contains(string(out), "stale") {
			t.Errorf("%s: status = %q, %v; want stale", kind, out, err)
		}
		if out, err := exec.Command(exe, "broker", "down", "--state", state).CombinedOutput(); err != nil {
			t.Errorf("%s: down = %q, %v", kind, out, err)
		}
		if !broker.GroupAlive(other.Process.Pid) {
			t.Fatalf("%s: down killed an unrelated process", kind)
		}
	}
}
