package deploy

import (
	"fmt"
	"strconv"
	"strings"
)

// kafkaUID is the apache/kafka image's appuser (the first uid Alpine's
// adduser gives), numeric for runAsNonRoot; the image's start script
// needs to write /opt/kafka/config, which appuser owns.
const kafkaUID = 1000

// clusterID is the KRaft cluster id: 16 bytes, base64url ("commbench-k8s-ka").
const clusterID = "Y29tbWJlbmNoLWs4cy1rYQ"

// kafkaService is the StatefulSet's headless Service: it gives every pod
// its stable name kafka-<i>.kafka, published before the pod is ready, as
// the controllers must find each other to form the quorum at all.
func kafkaService() *Service {
	return &Service{APIVersion: "v1", Kind: "Service", Meta: meta(KafkaName),
		Spec: ServiceSpec{
			ClusterIP: "None", PublishNotReadyAddresses: true, Selector: selector(KafkaName).MatchLabels,
			Ports: []ServicePort{
				{Name: "client", Port: KafkaPort, TargetPort: KafkaPort},
				{Name: "controller", Port: KafkaControllerPort, TargetPort: KafkaControllerPort},
			},
		}}
}

// KafkaEnv is the apache/kafka image's configuration (KAFKA_* variables
// become server.properties) for nodes combined brokers+controllers, as
// docker-compose.bench.yml configures its cluster. Each pod's node id is
// its StatefulSet index (the pod-index label, Kubernetes 1.28+) and it
// advertises its stable name.
func KafkaEnv(nodes, partitions int) []EnvVar {
	voters := make([]string, nodes)
	for i := range nodes {
		voters[i] = fmt.Sprintf("%d@%s-%d.%s:%d", i, KafkaName, i, KafkaName, KafkaControllerPort)
	}
	rf, isr := strconv.Itoa(nodes), strconv.Itoa(min(nodes, 2))
	env := []EnvVar{fromField("POD_NAME", "metadata.name"), fromField("KAFKA_NODE_ID", "metadata.labels['"+podIndexLbl+"']")}
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
		env = append(env, EnvVar{Name: kv[0], Value: kv[1]})
	}
	return env
}

// kafkaStatefulSet is Apache Kafka in KRaft mode from the official image.
// Its pods start in parallel (a quorum of 3 needs 2 up before any is
// ready); its data is an emptyDir: a benchmark's cluster, formatted anew
// when a pod is replaced, not a durable one.
func kafkaStatefulSet(o Options) *StatefulSet {
	sc := restricted(kafkaUID)
	sc.RunAsGroup = kafkaUID
	c := Container{
		Name: "kafka", Image: o.KafkaImage,
		Env: KafkaEnv(o.KafkaNodes, o.Profile.Services.Kafka.Partitions),
		Ports: []ContainerPort{
			{Name: "client", ContainerPort: KafkaPort},
			{Name: "controller", ContainerPort: KafkaControllerPort},
		},
		// Ready when the client listener accepts: an exec probe would
		// start a JVM every period.
		ReadinessProbe:  &Probe{TCPSocket: &TCPSocket{Port: KafkaPort}, PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 3},
		Resources:       guaranteed("1", "2Gi"),
		SecurityContext: sc,
		VolumeMounts:    []VolumeMount{{Name: "data", MountPath: "/var/lib/kafka/data"}},
	}
	spec := podSpec(c)
	spec.SecurityContext.FSGroup = kafkaUID
	spec.Volumes = []Volume{{Name: "data", EmptyDir: &struct{}{}}}
	spec.Affinity = spreadOut(KafkaName)
	return &StatefulSet{APIVersion: "apps/v1", Kind: "StatefulSet", Meta: meta(KafkaName),
		Spec: StatefulSetSpec{
			ServiceName: KafkaName, Replicas: o.KafkaNodes, PodManagementPolicy: "Parallel",
			Selector: selector(KafkaName), Template: template(KafkaName, spec),
		}}
}
