// Package deploy renders the Kubernetes manifests of one commbench run —
// the notification and reaction services, Apache Kafka (in the cluster or
// external), a collector, and the load generator as an Indexed Job whose
// pod i is shard i/n — and holds the collector the shards upload their run
// folders to. `commbench k8s render` prints them; deploy/kubernetes/ holds
// the same manifests as a kustomize base and overlays.
package deploy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
)

// The names, ports and paths the manifests agree on. A Service's name is
// the host name the others reach it by.
const (
	ReactionName     = "commbench-reaction"
	ReactionPort     = 8080
	NotificationName = "commbench-notification"
	NotificationPort = 8081
	CollectorName    = "commbench-collector"
	CollectorPort    = 8090
	JobName          = "commbench-loadgen"
	// RunConfig is the ConfigMap of the run: the profile file, the
	// pattern, the shard count, the start time and the Kafka addresses.
	RunConfig = "commbench-run"
	KafkaName = "kafka"
	// KafkaPort is the brokers' client listener, KafkaControllerPort the
	// KRaft controllers'.
	KafkaPort           = 9092
	KafkaControllerPort = 9093

	// ProfileDir is where the load generator's pods find the profile:
	// ProfileDir/<name>.yaml, from RunConfig.
	ProfileDir = "/etc/commbench"
	// RunsDir holds a shard's run folders (RunsDir/shard-<i>/<time>-<profile>),
	// an emptyDir uploaded to the collector at the end.
	RunsDir = "/runs"
	// CollectDir is where the collector keeps what the shards uploaded.
	CollectDir = "/collected"

	DefaultImage      = "commbench:latest"
	DefaultKafkaImage = "apache/kafka:4.3.1"
	// DefaultStartIn is how long after the rendering the shards start:
	// the time to pull images, start Kafka and the services, and schedule
	// every shard.
	DefaultStartIn = 3 * time.Minute
	// MaxShards bounds Options.Shards.
	MaxShards = 1024
)

// The keys of RunConfig, and the environment variables the pods read them
// into (the containers' arguments refer to them as $(VAR)).
const (
	KeyPattern  = "pattern"
	KeyShards   = "shards"
	KeyStartAt  = "start-at"
	KeyBrokers  = "brokers"
	EnvPattern  = "BENCH_PATTERN"
	EnvShards   = "BENCH_SHARDS"
	EnvStartAt  = "BENCH_START_AT"
	EnvBrokers  = "KAFKA_BROKERS" // what commbench reads (cmd/commbench/cli)
	EnvIndex    = "JOB_COMPLETION_INDEX"
	indexAnnot  = "batch.kubernetes.io/job-completion-index"
	podIndexLbl = "apps.kubernetes.io/pod-index"
)

// Kafka is where the run's Kafka is.
type Kafka string

// The places Kafka can be.
const (
	InCluster Kafka = "in-cluster" // a StatefulSet of apache/kafka in KRaft mode, rendered here
	External  Kafka = "external"   // a cluster someone else runs: Options.Brokers
)

// ParseKafka parses in-cluster or external.
func ParseKafka(s string) (Kafka, error) {
	switch k := Kafka(s); k {
	case InCluster, External:
		return k, nil
	}
	return "", fmt.Errorf("%q: want in-cluster or external", s)
}

// Options are one run's manifests.
type Options struct {
	Profile     *profiles.Profile // parsed: the services' knobs, the Job's deadline
	ProfileYAML []byte            // the file as written, for RunConfig
	Pattern     pattern.Pattern   // the services' mode and the run's --patterns; zero: the profile's first
	Shards      int               // load generator pods, 1 to MaxShards
	Kafka       Kafka             // zero: InCluster
	KafkaNodes  int               // in-cluster: 1 or 3; zero: 1
	Brokers     []string          // external: host:port of the bootstrap brokers
	Image       string            // commbench's image (./Dockerfile); zero: DefaultImage
	KafkaImage  string            // zero: DefaultKafkaImage
	StartAt     time.Time         // when every shard starts the attack
	Now         time.Time         // the rendering's time, for the Job's deadline; zero: time.Now()
}

// Sentinel errors of Check; each message says what to do.
var (
	ErrProfile = errors.New("profile")
	ErrOption  = errors.New("option")
)

// Check fills the defaults into o and refuses what the manifests cannot
// run. Its errors name the option or the profile's field.
func (o *Options) Check() error {
	p := o.Profile
	if p == nil || len(o.ProfileYAML) == 0 {
		return fmt.Errorf("%w: no profile", ErrOption)
	}
	if o.Pattern == "" && len(p.Patterns) > 0 {
		o.Pattern = p.Patterns[0]
	}
	if !o.Pattern.Valid() {
		return fmt.Errorf("%w: pattern %q: want one of %s", ErrOption, o.Pattern, pattern.List())
	}
	if o.Shards < 1 || o.Shards > MaxShards {
		return fmt.Errorf("%w: shards %d: want 1 to %d", ErrOption, o.Shards, MaxShards)
	}
	if o.Kafka == "" {
		o.Kafka = InCluster
	}
	if o.KafkaNodes == 0 {
		o.KafkaNodes = 1
	}
	if o.KafkaNodes != 1 && o.KafkaNodes != 3 {
		return fmt.Errorf("%w: kafka nodes %d: want 1 or 3", ErrOption, o.KafkaNodes)
	}
	if o.Kafka == External && o.Pattern.UsesKafka() {
		if len(o.Brokers) == 0 {
			return fmt.Errorf("%w: external Kafka needs the brokers' addresses (host:port,...)", ErrOption)
		}
		for _, b := range o.Brokers {
			if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
				return fmt.Errorf("%w: broker %q: want host:port", ErrOption, b)
			}
		}
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.KafkaImage == "" {
		o.KafkaImage = DefaultKafkaImage
	}
	if o.StartAt.IsZero() {
		return fmt.Errorf("%w: no start time", ErrOption)
	}
	return checkProfile(p)
}

// checkProfile refuses the profiles whose run needs more than the
// manifests hold: every part of the run that is not the two services.
func checkProfile(p *profiles.Profile) error {
	s := p.Services
	switch {
	case s.Notification.Replicas > 1:
		return fmt.Errorf("%w %s: services.notification.replicas is %d: the manifests run one notification pod, whose ledger the shards reconcile against; use replicas 1", ErrProfile, p.Name, s.Notification.Replicas)
	case s.Chain.Depth > 2:
		return fmt.Errorf("%w %s: services.chain.depth is %d: the manifests have no relays; use a profile without a chain", ErrProfile, p.Name, s.Chain.Depth)
	case len(s.Kafka.Groups) > 1:
		return fmt.Errorf("%w %s: services.kafka.groups has %d groups: the manifests run one consumer group; use one", ErrProfile, p.Name, len(s.Kafka.Groups))
	case len(p.Variants) > 0:
		return fmt.Errorf("%w %s: variants: the services run with one set of knobs; use a profile without variants", ErrProfile, p.Name)
	}
	for i, f := range p.Faults {
		if f.Target != profiles.TargetProvider {
			return fmt.Errorf("%w %s: faults[%d]: target %s: a process in another pod, which the shards cannot reach; only provider faults (through the notification service's HTTP) run here", ErrProfile, p.Name, i, f.Target)
		}
	}
	return nil
}

// Objects are the run's manifests, in the order kubectl should create
// them: the configuration, Kafka, the services, the collector, the Job.
func Objects(o Options) ([]Object, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	objs := []Object{runConfig(o)}
	if o.Pattern.UsesKafka() && o.Kafka == InCluster {
		objs = append(objs, kafkaService(), kafkaStatefulSet(o))
	}
	objs = append(objs,
		notificationDeployment(o), service(NotificationName, NotificationPort),
		reactionDeployment(o), service(ReactionName, ReactionPort),
		collectorDeployment(o), service(CollectorName, CollectorPort),
		loadgenJob(o))
	return objs, nil
}

// Render writes the run's manifests to w as one YAML stream, with a
// comment saying what it is and how to use it.
func Render(w io.Writer, o Options) error {
	objs, err := Objects(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# commbench on Kubernetes: profile %s, pattern %s, %d shard(s), Kafka %s.\n", o.Profile.Name, o.Pattern, o.Shards, kafkaWhere(o))
	fmt.Fprintf(w, "# The shards start the attack at %s (unix %d).\n", o.StartAt.UTC().Format(time.RFC3339), o.StartAt.Unix())
	fmt.Fprintln(w, "# Rendered by 'commbench k8s render'; see docs/kubernetes.md, \"Beyond one machine\".")
	for _, obj := range objs {
		b, err := Marshal(obj)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "---\n%s", b)
	}
	return nil
}

func kafkaWhere(o Options) string {
	switch {
	case !o.Pattern.UsesKafka():
		return "not used (" + string(o.Pattern) + ")"
	case o.Kafka == External:
		return "external at " + strings.Join(o.Brokers, ",")
	}
	return "in the cluster, " + strconv.Itoa(o.KafkaNodes) + " node(s)"
}

// Marshal is obj as YAML.
func Marshal(obj Object) ([]byte, error) { return yaml.Marshal(obj) }

// ProfileKey is the profile's file name in RunConfig and under
// ProfileDir: <name>.yaml, so that the run names its folders as the
// profile does.
func ProfileKey(p *profiles.Profile) string { return p.Name + ".yaml" }

// URL is the in-cluster address of a Service of the manifests.
func URL(name string, port int) string { return "http://" + name + ":" + strconv.Itoa(port) }

// Targets is the run's --targets: the reaction and notification services.
func Targets() string {
	return URL(ReactionName, ReactionPort) + "," + URL(NotificationName, NotificationPort)
}

// KafkaAddrs are the in-cluster brokers' client addresses: the
// StatefulSet's pods by their stable names.
func KafkaAddrs(nodes int) []string {
	out := make([]string, nodes)
	for i := range nodes {
		out[i] = fmt.Sprintf("%s-%d.%s:%d", KafkaName, i, KafkaName, KafkaPort)
	}
	return out
}

// brokers is RunConfig's brokers: empty for a pattern without Kafka.
func brokers(o Options) string {
	switch {
	case !o.Pattern.UsesKafka():
		return ""
	case o.Kafka == External:
		return strings.Join(o.Brokers, ",")
	}
	return strings.Join(KafkaAddrs(o.KafkaNodes), ",")
}
