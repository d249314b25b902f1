package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pom names the jars of the local broker; see kafka/pom.xml.
//
//go:embed kafka/pom.xml
var pom []byte

// KafkaVersion is the Apache Kafka version a Local broker runs, read from
// the kafka.version property of kafka/pom.xml.
var KafkaVersion = pomVersion(pom)

// MinJava is the oldest Java major version Kafka 4 brokers run on.
const MinJava = 17

func pomVersion(p []byte) string {
	m := regexp.MustCompile(`<kafka\.version>([^<]+)</kafka\.version>`).FindSubmatch(p)
	if m == nil {
		panic("broker: kafka/pom.xml has no <kafka.version>")
	}
	return string(m[1])
}

// completeMarker is written into a jar folder when Maven finished; it holds
// the pom's hash so a changed pom resolves again.
const completeMarker = ".complete"

// ErrVersion is wrapped by the errors of CheckVersion and of a Resolve that
// Maven Central could not serve.
var ErrVersion = errors.New("unavailable Kafka version")

// versionRE is what a Kafka release's version looks like.
var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

// CheckVersion refuses a version a Local broker cannot run: it must be a
// release number (major.minor.patch) of Kafka 4 or later, whose KRaft
// configuration (controller.quorum.bootstrap.servers, format --standalone,
// the share coordinator's settings) serverProperties writes. "" is
// KafkaVersion.
func CheckVersion(v string) error {
	if v == "" {
		return nil
	}
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("%w: %q is not a release number like %s", ErrVersion, v, KafkaVersion)
	}
	if major, _ := strconv.Atoi(m[1]); major < 4 {
		return fmt.Errorf("%w: %s: the local broker runs Apache Kafka 4.x and later (its KRaft configuration is 4.x's); for an older cluster use --broker external", ErrVersion, v)
	}
	return nil
}

// versionPom is the pom with kafka.version set to v.
func versionPom(v string) []byte {
	if v == "" || v == KafkaVersion {
		return pom
	}
	return regexp.MustCompile(`<kafka\.version>[^<]+</kafka\.version>`).ReplaceAll(pom, []byte("<kafka.version>"+v+"</kafka.version>"))
}

// JarDir is the folder that holds the Kafka jars for KafkaVersion under
// cache.
func JarDir(cache string) string { return VersionJarDir(cache, "") }

// VersionJarDir is the folder that holds the jars of Kafka v ("" is
// KafkaVersion) under cache.
func VersionJarDir(cache, v string) string {
	if v == "" {
		v = KafkaVersion
	}
	return filepath.Join(cache, "kafka-"+v)
}

func pomHash(v string) string {
	h := sha256.Sum256(versionPom(v))
	return hex.EncodeToString(h[:])
}

func jarsComplete(cache string) bool { return versionJarsComplete(cache, "") }

func versionJarsComplete(cache, v string) bool {
	m, err := os.ReadFile(filepath.Join(VersionJarDir(cache, v), completeMarker))
	return err == nil && strings.TrimSpace(string(m)) == pomHash(v)
}

// Classpath returns the class path of the Kafka jars under cache.
func Classpath(cache string) string {
	return filepath.Join(JarDir(cache), "libs", "*")
}

// FindJava returns the java binary ($JAVA_HOME/bin/java, else java on PATH)
// and its major version, or an error when there is none or it is older
// than MinJava.
func FindJava() (path string, major int, err error) {
	path = ""
	// JAVA_HOME is read here, not passed from cmd/ like commbench's own
	// settings: it is the platform's convention for where the JVM is, the
	// counterpart of PATH, which exec.LookPath reads below. Passing one
	// and not the other would be half a job; passing both would thread
	// the process's search path through every caller (LocalPossible,
	// choose, upLocal, ConsumerGroupTool, the harness's host info).
	if h := os.Getenv("JAVA_HOME"); h != "" {
		if p := filepath.Join(h, "bin", "java"); isExec(p) {
			path = p
		}
	}
	if path == "" {
		if path, err = exec.LookPath("java"); err != nil {
			return "", 0, fmt.Errorf("no Java %d+: set JAVA_HOME or put java on PATH", MinJava)
		}
	}
	out, err := exec.Command(path, "-version").CombinedOutput()
	if err != nil {
		return path, 0, fmt.Errorf("%s -version: %w", path, err)
	}
	major, err = javaMajor(string(out))
	if err != nil {
		return path, 0, fmt.Errorf("%s -version: %w", path, err)
	}
	if major < MinJava {
		return path, major, fmt.Errorf("%s is Java %d; Kafka 4 needs Java %d+ (set JAVA_HOME)", path, major, MinJava)
	}
	return path, major, nil
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// javaMajor parses the major version out of `java -version` output:
// `openjdk version "17.0.15"` is 17, `java version "1.8.0_392"` is 8.
func javaMajor(out string) (int, error) {
	m := regexp.MustCompile(`version "(\d+)(?:\.(\d+))?[^"]*"`).FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no version in %q", strings.TrimSpace(out))
	}
	major, _ := strconv.Atoi(m[1])
	if major == 1 && m[2] != "" {
		major, _ = strconv.Atoi(m[2])
	}
	return major, nil
}

// Resolve makes sure the jars of Apache Kafka KafkaVersion are in the cache
// folder, running Maven (mvn dependency:copy-dependencies) when they are
// not, and returns their folder. A folder that Maven did not finish is
// resolved again. Concurrent callers wait for each other (a file lock).
func Resolve(ctx context.Context, cache string, log func(string, ...any)) (string, error) {
	return ResolveVersion(ctx, cache, "", log)
}

// ResolveVersion is Resolve for Kafka v ("" is KafkaVersion): the pom with
// its kafka.version, in a folder of its own. A version Maven Central does
// not serve is refused with an error wrapping ErrVersion.
func ResolveVersion(ctx context.Context, cache, v string, log func(string, ...any)) (string, error) {
	if err := CheckVersion(v); err != nil {
		return "", err
	}
	if v == "" {
		v = KafkaVersion
	}
	dir := VersionJarDir(cache, v)
	if versionJarsComplete(cache, v) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if versionJarsComplete(cache, v) { // another process resolved them meanwhile
		return dir, nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", fmt.Errorf("no Kafka %s jars in %s and Maven (mvn) is not on PATH: install Maven, or use --kind embedded", v, dir)
	}
	log("resolving Apache Kafka %s jars with Maven into %s (once; later runs reuse them)", v, dir)
	start := time.Now()
	os.Remove(filepath.Join(dir, completeMarker))
	if err := os.WriteFile(filepath.Join(dir, "pom.xml"), versionPom(v), 0o644); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, "libs.tmp")
	libs := filepath.Join(dir, "libs")
	os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "dependency:copy-dependencies", "-DoutputDirectory="+tmp)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if notServed(out.String(), v) {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("%w: Apache Kafka %s is not served by Maven Central (org.apache.kafka:kafka_2.13:%s was not found): pick a released 4.x version, e.g. %s", ErrVersion, v, v, KafkaVersion)
		}
		return "", fmt.Errorf("mvn dependency:copy-dependencies in %s (needs network to Maven Central): %w\n%s", dir, err, lastLines(out.String(), 30))
	}
	os.RemoveAll(libs)
	if err := os.Rename(tmp, libs); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, completeMarker), []byte(pomHash(v)+"\n"), 0o644); err != nil {
		return "", err
	}
	log("resolved Kafka %s jars in %v", v, time.Since(start).Round(time.Millisecond))
	return dir, nil
}

// notServed reports whether Maven's output says the Kafka artifact of
// version v does not exist (rather than, say, that the network is down).
func notServed(out, v string) bool {
	return strings.Contains(out, "org.apache.kafka:kafka_2.13:jar:"+v) &&
		(strings.Contains(out, "was not found") || strings.Contains(out, "Could not find artifact"))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. Another process
// may take one before the broker binds it; Up then fails with the broker's
// log, which says so.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// clusterID returns a random Kafka cluster id: 16 random bytes in URL-safe
// base64 without padding, not starting with '-' (as Kafka's Uuid does).
func clusterID() string {
	for {
		var b [16]byte
		_, _ = rand.Read(b[:])
		s := base64.RawURLEncoding.EncodeToString(b[:])
		if s[0] != '-' {
			return s
		}
	}
}

// serverProperties is a one-node KRaft configuration: combined broker and
// controller on loopback, replication factor 1 everywhere, no delay before
// the first consumer group rebalance. The broker's session with its own
// controller is short (3 s, heartbeats every 500 ms): after a SIGKILL the
// controller refuses the restarted broker's registration until the old
// session expires (DuplicateBrokerRegistrationException), and the default
// 9 s made a killed broker take 15 s to come back instead of 8.
func serverProperties(port, controllerPort, partitions int, logDir string) string {
	return fmt.Sprintf(`# Written by commbench: one combined KRaft broker+controller on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:%[2]d
listeners=PLAINTEXT://127.0.0.1:%[1]d,CONTROLLER://127.0.0.1:%[2]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[1]d
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=%[4]s
num.partitions=%[3]d
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=%[3]d
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
auto.create.topics.enable=false
delete.topic.enable=true
`, port, controllerPort, partitions, logDir)
}

// log4j2Properties sends every log line to file, none to the terminal.
func log4j2Properties(file string) string {
	return fmt.Sprintf(`# Written by commbench: Kafka logs to a file, not the terminal.
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = %s
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%%d] %%p %%m (%%c)%%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
`, file)
}

// jvmFlags are the flags Kafka's kafka-run-class.sh and
// kafka-server-start.sh pass, with the heap from Options, and G1's
// garbage-collection threads held to half the machine's cores: the broker
// shares the machine with the load generator and the services, and a young
// collection with a thread on every core stops everything else for its
// pause (a surge run's generator sent 1-2% of a second's hits more than
// 1 ms late, with the host 50% idle, when the broker's collections began
// at the surge). A production broker has its machine to itself.
func jvmFlags(heap string) []string {
	gc := strconv.Itoa(max(1, runtime.NumCPU()/2))
	return []string{
		"-Xms" + heap, "-Xmx" + heap,
		"-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
		"-XX:ParallelGCThreads=" + gc, "-XX:ConcGCThreads=" + gc,
		"-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
	}
}

// upLocal resolves the jars, writes the configuration, formats storage and
// starts the broker JVM.
func upLocal(ctx context.Context, o Options) (b *Broker, err error) {
	start := time.Now()
	java, major, err := FindJava()
	if err != nil {
		return nil, err
	}
	version := o.Version
	if version == "" {
		version = KafkaVersion
	}
	jars, err := ResolveVersion(ctx, o.CacheDir, version, o.logf)
	if err != nil {
		return nil, err
	}
	dataDir, owns, err := makeDataDir(o.DataDir, "commbench-kafka-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && owns {
			os.RemoveAll(dataDir)
		}
	}()
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(dataDir, "kraft-logs")
	props := filepath.Join(dataDir, "server.properties")
	l4j := filepath.Join(dataDir, "log4j2.properties")
	logFile := filepath.Join(dataDir, "kafka.log")
	conf := serverProperties(ports[0], ports[1], o.Partitions, logDir)
	var sec *secured
	if o.Protocol != Plaintext {
		if sec, err = secure(dataDir, o.Protocol); err != nil {
			return nil, err
		}
		conf = securedProperties(conf, sec, ports[0], ports[1])
		if err = writeClientFiles(ctx, dataDir, fmt.Sprintf("127.0.0.1:%d", ports[0]), java, sec); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(props, []byte(conf), 0o600); err != nil { // 0600: it may hold a password
		return nil, err
	}
	if err := os.WriteFile(l4j, []byte(log4j2Properties(logFile)), 0o644); err != nil {
		return nil, err
	}
	cp := filepath.Join(jars, "libs", "*")
	common := append(jvmFlags(o.Heap), "-Dlog4j2.configurationFile="+l4j, "-cp", cp)

	// Format storage: a small heap is enough for the tool.
	format := exec.CommandContext(ctx, java, append([]string{"-Xmx256m", "-Dlog4j2.configurationFile=" + l4j, "-cp", cp,
		"kafka.tools.StorageTool", "format", "-t", clusterID(), "-c", props, "--standalone"}, sec.scramArgs()...)...)
	fstart := time.Now()
	if out, err := format.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("format Kafka storage in %s: %w\n%s", logDir, err, lastLines(string(out), 20))
	}
	o.logf("formatted storage in %v", time.Since(fstart).Round(time.Millisecond))

	cmd := exec.Command(java, append(common, "kafka.Kafka", props)...)
	cmd.Dir = dataDir
	outFile := filepath.Join(dataDir, "kafka.out") // the JVM's own stdout and stderr
	b, err = startProcess(o, cmd, outFile)
	if err != nil {
		return nil, fmt.Errorf("start Kafka (%s): %w", java, err)
	}
	b.Kind, b.Version, b.DataDir, b.LogFile, b.OwnsDataDir = Local, version, dataDir, logFile, owns
	b.Addrs, b.Jars = []string{fmt.Sprintf("127.0.0.1:%d", ports[0])}, jars
	if sec != nil {
		b.Protocol = o.Protocol
		if b.sec, err = b.Security(); err != nil {
			_ = b.Stop(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	o.logf("starting local Apache Kafka %s (Java %d, pid %d) at %s (%s), data in %s", version, major, b.PID, b.Addrs[0], o.Protocol, dataDir)
	if err := waitReady(ctx, o, b, logFile, outFile); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultStopTimeout+5*time.Second)
		defer cancel()
		b.OwnsDataDir = false // the deferred cleanup removes it
		_ = b.Stop(stopCtx)
		return nil, err
	}
	o.logf("%s ready in %v", b, time.Since(start).Round(time.Millisecond))
	return b, nil
}

// makeDataDir returns dir, made if needed, or a new temporary folder that
// the caller owns.
func makeDataDir(dir, pattern string) (string, bool, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", false, err
		}
		abs, err := filepath.Abs(dir)
		return abs, false, err
	}
	d, err := os.MkdirTemp("", pattern)
	return d, true, err
}

// ConsumerGroupTool returns the command line of Kafka's own consumer-group
// tool (kafka-consumer-groups.sh) from the cached jars, for an independent
// look at a group: args such as "--bootstrap-server", addr, "--describe",
// "--group", g follow.
func ConsumerGroupTool(ctx context.Context, cache string, args ...string) (*exec.Cmd, error) {
	java, _, err := FindJava()
	if err != nil {
		return nil, err
	}
	if !jarsComplete(cache) {
		return nil, errors.New("no complete Kafka jars in " + JarDir(cache))
	}
	a := []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dlog4j2.level=WARN",
		"-cp", Classpath(cache), "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"}
	return exec.CommandContext(ctx, java, append(a, args...)...), nil
}
