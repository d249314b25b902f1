package deploy

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/commbench/commbench/targets/notification"
)

// nonroot is the uid of distroless's nonroot user, which ./Dockerfile
// runs as. It is given as a number: the image names its user, and the
// kubelet can only check a numeric user against runAsNonRoot.
const nonroot = 65532

func labels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "commbench"}
}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: labels(name)}
}

func ptr[T any](v T) *T { return &v }

// guaranteed is requests equal to limits (the Guaranteed QoS class): a
// measured pod is neither starved by its neighbours nor bursting past
// what it was given. A second throttled at the CPU limit shows as
// latency: raise both for a larger profile.
func guaranteed(cpu, mem string) corev1.ResourceRequirements {
	l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	return corev1.ResourceRequirements{Requests: l, Limits: l.DeepCopy()}
}

// restricted is the "restricted" Pod Security Standard for a container.
func restricted(uid int64) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot: ptr(true), RunAsUser: ptr(uid), AllowPrivilegeEscalation: ptr(false),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// fromConfig is an environment variable read from RunConfig.
func fromConfig(env, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: RunConfig}, Key: key}}}
}

// kafkaEnv is what a commbench container reads about Kafka: the brokers
// from RunConfig (empty for sync, which the services read as "HTTP
// only"), and the TLS/SASL variables from the Secret commbench-kafka when
// one exists (an external cluster's; see the README).
func kafkaEnv(c *corev1.Container) {
	c.Env = append(c.Env, fromConfig(EnvBrokers, KeyBrokers))
	c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "commbench-kafka"}, Optional: ptr(true)}})
}

// httpReady is a readiness probe on /healthz. There is no liveness probe
// on purpose: a service the load saturates answers late, and a restart
// then would be the benchmark's doing, not the pattern's.
func httpReady(port int) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(int32(port))}},
		PeriodSeconds: 2, TimeoutSeconds: 2, FailureThreshold: 3}
}

func listen(port int) string { return "0.0.0.0:" + strconv.Itoa(port) }

// podSpec is a pod of commbench's image with c as its one container.
func podSpec(c corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{c},
		// No FOO_SERVICE_HOST variables: a Service named kafka would
		// otherwise put KAFKA_PORT=tcp://… into every pod.
		EnableServiceLinks: ptr(false),
		SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}
}

func deployment(name string, spec corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(name)}, Spec: spec},
		},
	}
}

// service is a ClusterIP Service for the Deployment name on port.
func service(name string, port int) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(name),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app.kubernetes.io/name": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: int32(port), TargetPort: intstr.FromInt32(int32(port))}},
		},
	}
}

func commbench(o Options, name string, port int, args ...string) corev1.Container {
	return corev1.Container{
		Name: name, Image: o.Image, Args: args,
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}},
		ReadinessProbe:  httpReady(port),
		Resources:       guaranteed("1", "512Mi"),
		SecurityContext: restricted(nonroot),
	}
}

// NotificationArgs are the notification service's arguments: the
// profile's knobs, as the harness passes them (harness/services.go), on
// the default topic and group. The brokers come from KAFKA_BROKERS.
func NotificationArgs(o Options) []string {
	s := o.Profile.Services
	return []string{"serve", "notification", "--listen", listen(NotificationPort),
		"--topic", notification.DefaultTopic, "--group", notification.DefaultGroup,
		"--consumers", strconv.Itoa(s.Notification.Consumers),
		"--concurrency", strconv.Itoa(s.Notification.Concurrency),
		"--retries", strconv.Itoa(s.Notification.Retries + 1),
		"--retry-backoff", s.Notification.RetryBackoff.String(),
		"--retry-max-backoff", s.Notification.RetryMaxBackoff.String(),
		"--provider-p50", s.Provider.Latency.P50.String(),
		"--provider-p99", s.Provider.Latency.P99.String(),
		"--provider-capacity", strconv.Itoa(s.Provider.Capacity),
		"--provider-error-rate", strconv.FormatFloat(s.Provider.ErrorRate, 'g', -1, 64),
	}
}

// notificationDeployment is one notification pod. For a Kafka pattern an
// init container creates the topics (as docker-compose.bench.yml's topics
// service does) and so also waits for Kafka: it fails, and is restarted
// with back-off, until the brokers answer.
func notificationDeployment(o Options) *appsv1.Deployment {
	c := commbench(o, "notification", NotificationPort, NotificationArgs(o)...)
	kafkaEnv(&c)
	spec := podSpec(c)
	if o.Pattern.UsesKafka() {
		topics := corev1.Container{Name: "topics", Image: o.Image,
			Args:            []string{"broker", "up", "--kind", "external", "--partitions", strconv.Itoa(o.Profile.Services.Kafka.Partitions), "--state", "/tmp/broker.json"},
			Resources:       guaranteed("100m", "64Mi"),
			SecurityContext: restricted(nonroot)}
		kafkaEnv(&topics)
		spec.InitContainers = []corev1.Container{topics}
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

func reactionDeployment(o Options) *appsv1.Deployment {
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
func collectorDeployment(o Options) *appsv1.Deployment {
	c := commbench(o, "collector", CollectorPort, CollectorArgs()...)
	c.Resources = guaranteed("200m", "256Mi")
	c.Env = append(c.Env, fromConfig(EnvShards, KeyShards))
	c.VolumeMounts = []corev1.VolumeMount{{Name: "collected", MountPath: CollectDir}}
	spec := podSpec(c)
	spec.Volumes = []corev1.Volume{{Name: "collected", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	return deployment(CollectorName, spec)
}
