package deploy

import (
	"strconv"

	"github.com/commbench/commbench/targets/notification"
)

// nonroot is the uid of distroless's nonroot user, which ./Dockerfile
// runs as. It is given as a number: the image names its user, and the
// kubelet can only check a numeric user against runAsNonRoot.
const nonroot = 65532

func labels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "commbench"}
}

func meta(name string) Meta { return Meta{Name: name, Labels: labels(name)} }

func selector(name string) Selector {
	return Selector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}}
}

func template(name string, spec PodSpec) PodTemplate {
	var t PodTemplate
	t.Metadata.Labels, t.Spec = labels(name), spec
	return t
}

func ptr[T any](v T) *T { return &v }

// guaranteed is requests equal to limits (the Guaranteed QoS class): a
// measured pod is neither starved by its neighbours nor bursting past
// what it was given. A second throttled at the CPU limit shows as
// latency: raise both for a larger profile.
func guaranteed(cpu, mem string) Resources {
	return Resources{Requests: map[string]string{"cpu": cpu, "memory": mem}, Limits: map[string]string{"cpu": cpu, "memory": mem}}
}

var runtimeDefault = &SeccompProfile{Type: "RuntimeDefault"}

// restricted is the "restricted" Pod Security Standard for a container.
func restricted(uid int64) *SecurityContext {
	return &SecurityContext{RunAsNonRoot: true, RunAsUser: uid, Capabilities: Capabilities{Drop: []string{"ALL"}}, SeccompProfile: runtimeDefault}
}

// fromConfig is an environment variable read from RunConfig.
func fromConfig(env, key string) EnvVar {
	return EnvVar{Name: env, ValueFrom: &EnvSource{ConfigMapKeyRef: &KeyRef{Name: RunConfig, Key: key}}}
}

// fromField is an environment variable read from the pod's own fields.
func fromField(env, path string) EnvVar {
	return EnvVar{Name: env, ValueFrom: &EnvSource{FieldRef: &FieldRef{FieldPath: path}}}
}

// kafkaEnv is what a commbench container reads about Kafka: the brokers
// from RunConfig (empty for sync, which the services read as "HTTP
// only"), and the TLS/SASL variables from the Secret commbench-kafka when
// one exists (an external cluster's; see docs/kubernetes.md).
func kafkaEnv(c *Container) {
	c.Env = append(c.Env, fromConfig(EnvBrokers, KeyBrokers))
	c.EnvFrom = append(c.EnvFrom, EnvFrom{SecretRef: &SecretRef{Name: "commbench-kafka", Optional: true}})
}

// httpReady is a readiness probe on /healthz. There is no liveness probe
// on purpose: a service the load saturates answers late, and a restart
// then would be the benchmark's doing, not the pattern's.
func httpReady(port int) *Probe {
	return &Probe{HTTPGet: &HTTPGet{Path: "/healthz", Port: port}, PeriodSeconds: 2, TimeoutSeconds: 2, FailureThreshold: 3}
}

func listen(port int) string { return "0.0.0.0:" + strconv.Itoa(port) }

// podSpec is a pod with c as its one container.
func podSpec(c Container) PodSpec {
	return PodSpec{
		Containers: []Container{c},
		// No FOO_SERVICE_HOST variables: a Service named kafka would
		// otherwise put KAFKA_PORT=tcp://… into every pod.
		EnableServiceLinks: ptr(false),
		SecurityContext:    &PodSecurityContext{RunAsNonRoot: true, SeccompProfile: runtimeDefault},
	}
}

// spreadOut prefers a node without another pod of name: the load
// generators, and Kafka's nodes, on as many machines as there are.
func spreadOut(name string) *Affinity {
	var w WeightedTerm
	w.Weight, w.Term.LabelSelector, w.Term.TopologyKey = 100, selector(name), "kubernetes.io/hostname"
	a := &Affinity{}
	a.PodAntiAffinity.Preferred = []WeightedTerm{w}
	return a
}

func deployment(name string, spec PodSpec) *Deployment {
	return &Deployment{APIVersion: "apps/v1", Kind: "Deployment", Meta: meta(name),
		Spec: DeploymentSpec{Replicas: 1, Selector: selector(name), Template: template(name, spec)}}
}

// service is a ClusterIP Service for the Deployment name on port.
func service(name string, port int) *Service {
	return &Service{APIVersion: "v1", Kind: "Service", Meta: meta(name),
		Spec: ServiceSpec{Selector: selector(name).MatchLabels, Ports: []ServicePort{{Name: "http", Port: port, TargetPort: port}}}}
}

// pullPolicy is commbench's image's: IfNotPresent, so that an image
// loaded into the nodes (kind load docker-image commbench:latest) is used
// as it is, whatever its tag.
const pullPolicy = "IfNotPresent"

func commbench(o Options, name string, port int, args ...string) Container {
	return Container{
		Name: name, Image: o.Image, ImagePullPolicy: pullPolicy, Args: args,
		Ports:           []ContainerPort{{Name: "http", ContainerPort: port}},
		ReadinessProbe:  httpReady(port),
		Resources:       guaranteed("1", "512Mi"),
		SecurityContext: restricted(nonroot),
	}
}

// NotificationArgs are the notification service's arguments: the
// profile's knobs, as the harness passes them (harness/services.go), on
// the default topic and group. The brokers come from KAFKA_BROKERS.
func NotificationArgs(o Options) []string {
	return append([]string{"serve", "notification", "--listen", listen(NotificationPort),
		"--topic", notification.DefaultTopic, "--group", notification.DefaultGroup,
	}, o.Profile.Services.NotificationFlags()...)
}

// TopicsArgs are the notification pod's init container's: create the
// topics with the profile's partitions and replication factor, trying
// until Kafka answers.
func TopicsArgs(o Options) []string {
	k := o.Profile.Services.Kafka
	return []string{"k8s", "topics", "--partitions", strconv.Itoa(k.Partitions), "--replication-factor", strconv.Itoa(k.ReplicationFactor)}
}

// notificationDeployment is one notification pod. For a Kafka pattern an
// init container creates the topics (as docker-compose.bench.yml's topics
// service does) and so also waits for Kafka.
func notificationDeployment(o Options) *Deployment {
	c := commbench(o, "notification", NotificationPort, NotificationArgs(o)...)
	kafkaEnv(&c)
	spec := podSpec(c)
	if o.Pattern.UsesKafka() {
		topics := Container{Name: "topics", Image: o.Image, ImagePullPolicy: pullPolicy,
			Args:            TopicsArgs(o),
			Resources:       guaranteed("100m", "64Mi"),
			SecurityContext: restricted(nonroot)}
		kafkaEnv(&topics)
		spec.InitContainers = []Container{topics}
	}
	return deployment(NotificationName, spec)
}

// ReactionArgs are the reaction service's arguments: the pattern from
// RunConfig ($(BENCH_PATTERN)) and the profile's knobs.
func ReactionArgs(o Options) []string {
	s := o.Profile.Services
	return []string{"serve", "reaction", "--mode", "$(" + EnvPattern + ")", "--listen", listen(ReactionPort),
		"--notify-url", URL(NotificationName, NotificationPort), "--topic", notification.DefaultTopic,
		"--write-cost", s.Reaction.WriteCost.String(),
		"--timeout", s.Reaction.Timeout.String(),
		"--budget", s.Hybrid.Budget.String(),
	}
}

func reactionDeployment(o Options) *Deployment {
	c := commbench(o, "reaction", ReactionPort, ReactionArgs(o)...)
	c.Env = append(c.Env, fromConfig(EnvPattern, KeyPattern))
	kafkaEnv(&c)
	return deployment(ReactionName, podSpec(c))
}

// CollectorArgs are the collector's: it keeps the shards' uploads in
// CollectDir and says when all $(BENCH_SHARDS) are in.
func CollectorArgs() []string {
	return []string{"k8s", "collect", "--listen", listen(CollectorPort), "--dir", CollectDir, "--shards", "$(" + EnvShards + ")"}
}

// collectorDeployment is the collector: one pod with an emptyDir. It
// holds the run folders until they are downloaded (GET /runs.tar.gz).
func collectorDeployment(o Options) *Deployment {
	c := commbench(o, "collector", CollectorPort, CollectorArgs()...)
	c.Resources = guaranteed("200m", "256Mi")
	c.Env = append(c.Env, fromConfig(EnvShards, KeyShards))
	c.VolumeMounts = []VolumeMount{{Name: "collected", MountPath: CollectDir}}
	spec := podSpec(c)
	spec.Volumes = []Volume{{Name: "collected", EmptyDir: &struct{}{}}}
	return deployment(CollectorName, spec)
}
