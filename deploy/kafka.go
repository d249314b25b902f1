package deploy

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// kafkaUID is the apache/kafka image's appuser; numeric for runAsNonRoot.
const kafkaUID = 1000

// clusterID is the KRaft cluster id: 16 bytes, base64url ("commbench-k8s-ka").
const clusterID = "Y29tbWJlbmNoLWs4cy1rYQ"

// kafkaService is the StatefulSet's headless Service: it gives every pod
// its stable name kafka-<i>.kafka, published before the pod is ready, as
// the controllers must find each other to form the quorum at all.
func kafkaService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(KafkaName),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 map[string]string{"app.kubernetes.io/name": KafkaName},
			Ports: []corev1.ServicePort{
				{Name: "client", Port: KafkaPort, TargetPort: intstr.FromInt32(KafkaPort)},
				{Name: "controller", Port: KafkaControllerPort, TargetPort: intstr.FromInt32(KafkaControllerPort)},
			},
		},
	}
}

// KafkaEnv is the apache/kafka image's configuration (KAFKA_* variables
// become server.properties) for nodes combined brokers+controllers, as
// docker-compose.bench.yml configures its cluster. Each pod's node id is
// its StatefulSet index (the pod-index label, Kubernetes 1.28+) and it
// advertises its stable name.
func KafkaEnv(nodes, partitions int) []corev1.EnvVar {
	voters := make([]string, nodes)
	for i := range nodes {
		voters[i] = fmt.Sprintf("%d@%s-%d.%s:%d", i, KafkaName, i, KafkaName, KafkaControllerPort)
	}
	rf, isr := strconv.Itoa(nodes), strconv.Itoa(min(nodes, 2))
	env := []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "KAFKA_NODE_ID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['" + podIndexLbl + "']"}}},
	}
	for _, kv := range [][2]string{
		{"CLUSTER_ID", clusterID},
		{"KAFKA_PROCESS_ROLES", "broker,controller"},
		{"KAFKA_CONTROLLER_QUORUM_VOTERS", strings.Join(voters, ",")},
		{"KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"},
		{"KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT"},
		{"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"},
		{"KAFKA_LISTENERS", fmt.Sprintf("PLAINTEXT://:%d,CONTROLLER://:%d", KafkaPort, KafkaControllerPort)},
		{"KAFKA_ADVERTISED_LISTENERS", fmt.Sprintf("PLAINTEXT://$(POD_NAME).%s:%d", KafkaName, KafkaPort)},
		{"KAFKA_LOG_DIRS", "/var/lib/kafka/data"},
		{"KAFKA_DEFAULT_REPLICATION_FACTOR", rf},
		{"KAFKA_MIN_INSYNC_REPLICAS", isr},
		{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", rf},
		{"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", rf},
		{"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", isr},
		{"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"},
		{"KAFKA_NUM_PARTITIONS", strconv.Itoa(partitions)},
		{"KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false"},
		{"KAFKA_HEAP_OPTS", "-Xms1g -Xmx1g"},
	} {
		env = append(env, corev1.EnvVar{Name: kv[0], Value: kv[1]})
	}
	return env
}

// kafkaStatefulSet is Apache Kafka in KRaft mode from the official image.
// Its pods start in parallel (a quorum of 3 needs 2 up before any is
// ready); its data is an emptyDir: a benchmark's cluster, formatted anew
// when a pod is replaced, not a durable one.
func kafkaStatefulSet(o Options) *appsv1.StatefulSet {
	c := corev1.Container{
		Name: "kafka", Image: o.KafkaImage,
		Env: KafkaEnv(o.KafkaNodes, o.Profile.Services.Kafka.Partitions),
		Ports: []corev1.ContainerPort{
			{Name: "client", ContainerPort: KafkaPort},
			{Name: "controller", ContainerPort: KafkaControllerPort},
		},
		// Ready when the client listener accepts: an exec probe would
		// start a JVM every period.
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(KafkaPort)}},
			PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 3},
		Resources:       guaranteed("1", "2Gi"),
		SecurityContext: restricted(kafkaUID),
		VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/kafka/data"}},
	}
	c.SecurityContext.RunAsGroup = ptr(int64(kafkaUID))
	spec := podSpec(c)
	spec.SecurityContext.FSGroup = ptr(int64(kafkaUID))
	spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": KafkaName}},
			TopologyKey:   "kubernetes.io/hostname",
		}}}}}
	n := int32(o.KafkaNodes)
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: meta(KafkaName),
		Spec: appsv1.StatefulSetSpec{
			ServiceName:         KafkaName,
			Replicas:            &n,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": KafkaName}},
			Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(KafkaName)}, Spec: spec},
		},
	}
}
