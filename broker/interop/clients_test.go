package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
)

// clientTimeout bounds every client process a test starts; a client that
// is refused gives up well before (its own timeouts, set below).
const clientTimeout = 90 * time.Second

// result is what a client process printed and how it ended.
type result struct {
	stdout, stderr string
	err            error // nil: exit status 0
}

// lines returns stdout's non-empty lines.
func (r result) lines() []string {
	var out []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// String is the whole of it, for a failure message.
func (r result) String() string {
	return fmt.Sprintf("exit: %v\nstdout:\n%s\nstderr:\n%s", r.err, tail(r.stdout, 20), tail(r.stderr, 40))
}

// tail returns s's last n lines.
func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = append([]string{fmt.Sprintf("… (%d lines before)", len(l)-n)}, l[len(l)-n:]...)
	}
	return strings.Join(l, "\n")
}

// execute runs name with args, bounded by clientTimeout; the process is
// killed when the test's time is up, and its output kept.
func execute(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %v: %w", clientTimeout, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// The Java client: Kafka's own tools, run from the broker's cached jars
// with the JVM of the broker, their log4j2 warnings on stderr.

func javaTool(t *testing.T, s *secured, class string, args ...string) result {
	t.Helper()
	java, _, err := broker.FindJava()
	if err != nil {
		missing(t, "the Java tools: %v", err)
	}
	logConf, err := filepath.Abs(filepath.Join("testdata", "tools-log4j2.properties"))
	if err != nil {
		t.Fatal(err)
	}
	// -Xmx256m as kafka-run-class.sh gives Kafka's tools: what a client
	// says when refused depends on it (see refusals).
	a := []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dlog4j2.configurationFile=" + logConf,
		"-cp", filepath.Join(s.b.Jars, "libs", "*"), class}
	return execute(t, nil, java, append(a, args...)...)
}

// javaList lists the topics with TopicCommand (kafka-topics.sh).
func javaList(t *testing.T, s *secured, config string) result {
	return javaTool(t, s, "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", s.addr(), "--command-config", config, "--list")
}

// javaRead reads topic from the start with ConsoleConsumer
// (kafka-console-consumer.sh): max records, or until none came for idle.
func javaRead(t *testing.T, s *secured, config, topic string, max int, idle time.Duration) result {
	args := []string{"--bootstrap-server", s.addr(), "--command-config", config, "--topic", topic,
		"--from-beginning", "--timeout-ms", strconv.Itoa(int(idle.Milliseconds()))}
	if max > 0 {
		args = append(args, "--max-messages", strconv.Itoa(max))
	}
	return javaTool(t, s, "org.apache.kafka.tools.consumer.ConsoleConsumer", args...)
}

// javaProcessed is the count ConsoleConsumer says it read ("Processed a
// total of N messages"), -1 when it did not say.
func javaProcessed(r result) int {
	m := regexp.MustCompile(`Processed a total of (\d+) messages`).FindStringSubmatch(r.stderr)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// javaConfig writes a copy of the broker's client.properties with the
// given properties replaced or added ("" removes one), and returns its path.
func javaConfig(t *testing.T, s *secured, set map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(s.file(broker.ClientPropertiesFile))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, _, _ := strings.Cut(sc.Text(), "=")
		if _, ok := set[strings.TrimSpace(k)]; !ok {
			out.WriteString(sc.Text() + "\n")
		}
	}
	for k, v := range set {
		if v != "" {
			out.WriteString(k + "=" + v + "\n")
		}
	}
	p := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(p, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// jaas is the Java client's SCRAM login line for user and password.
func jaas(user, password string) string {
	return fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`, user, password)
}

// librdkafka: the confluent-kafka wheel's, through testdata/rdkafka.py.

func rdkafka(t *testing.T, args ...string) result {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		missing(t, "librdkafka: no python3")
	}
	libs := pythonLibs()
	env := []string{"PYTHONPATH=" + libs}
	if v := execute(t, env, python, filepath.Join("testdata", "rdkafka.py"), "version"); v.err != nil {
		missing(t, "librdkafka: confluent-kafka is not in %s: %v\n%s", libs, v.err, tail(v.stderr, 5))
	} else if !atLeast(strings.TrimSpace(v.stdout), "librdkafka ", "2.6.1") {
		t.Fatalf("librdkafka: %s, want librdkafka >= 2.6.1 (SCRAM with Kafka 4.x)", v.stdout)
	}
	return execute(t, env, python, append([]string{filepath.Join("testdata", "rdkafka.py")}, args...)...)
}

// kcat runs Debian's kcat (its own librdkafka).
func kcat(t *testing.T, args ...string) result {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		missing(t, "kcat is not installed")
	}
	return execute(t, nil, path, args...)
}

// kcatLibrdkafka is the librdkafka version kcat -V names ("2.0.2").
func kcatLibrdkafka(t *testing.T) string {
	r := kcat(t, "-V")
	m := regexp.MustCompile(`librdkafka (\d+\.\d+\.\d+)`).FindStringSubmatch(r.stdout + r.stderr)
	if m == nil {
		t.Fatalf("kcat -V names no librdkafka version\n%s", r)
	}
	return m[1]
}

// atLeast reports whether s holds prefix followed by a version >= min.
func atLeast(s, prefix, min string) bool {
	i := strings.Index(s, prefix)
	if i < 0 {
		return false
	}
	v := strings.Fields(s[i+len(prefix):])
	if len(v) == 0 {
		return false
	}
	return versionAtLeast(v[0], min)
}

// versionAtLeast compares dotted versions numerically.
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range b {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		y, _ = strconv.Atoi(b[i])
		if x != y {
			return x > y
		}
	}
	return true
}
