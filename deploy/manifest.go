package deploy

// The manifests are rendered from the small structs below, not from
// k8s.io/api's types: those add 8.9 MB to the binary, 3 MB of resident
// memory and 6 ms of package initialisation to every commbench process,
// the services under test included, whose memory a run reports. These
// structs carry only the fields the manifests set, with the JSON names
// of the Kubernetes API; the tests decode every rendering strictly into
// k8s.io/api's types (unknown fields refused), which catches a misspelt
// or mistyped field here.

// Object is one manifest.
type Object interface {
	// ObjectName is the object's metadata.name.
	ObjectName() string
}

// Meta is an object's metadata.
type Meta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// ObjectName is m.Name.
func (m Meta) ObjectName() string { return m.Name }

// ConfigMap is a v1 ConfigMap.
type ConfigMap struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Meta       `json:"metadata"`
	Data       map[string]string `json:"data"`
}

// Service is a v1 Service.
type Service struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Meta       `json:"metadata"`
	Spec       ServiceSpec `json:"spec"`
}

// ServiceSpec is a Service's spec.
type ServiceSpec struct {
	ClusterIP                string            `json:"clusterIP,omitempty"`
	PublishNotReadyAddresses bool              `json:"publishNotReadyAddresses,omitempty"`
	Selector                 map[string]string `json:"selector"`
	Ports                    []ServicePort     `json:"ports"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string `json:"name"`
	Port       int    `json:"port"`
	TargetPort int    `json:"targetPort"`
}

// Deployment is an apps/v1 Deployment.
type Deployment struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Meta       `json:"metadata"`
	Spec       DeploymentSpec `json:"spec"`
}

// DeploymentSpec is a Deployment's spec.
type DeploymentSpec struct {
	Replicas int         `json:"replicas"`
	Selector Selector    `json:"selector"`
	Template PodTemplate `json:"template"`
}

// StatefulSet is an apps/v1 StatefulSet.
type StatefulSet struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Meta       `json:"metadata"`
	Spec       StatefulSetSpec `json:"spec"`
}

// StatefulSetSpec is a StatefulSet's spec.
type StatefulSetSpec struct {
	ServiceName         string      `json:"serviceName"`
	Replicas            int         `json:"replicas"`
	PodManagementPolicy string      `json:"podManagementPolicy"`
	Selector            Selector    `json:"selector"`
	Template            PodTemplate `json:"template"`
}

// Job is a batch/v1 Job.
type Job struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Meta       `json:"metadata"`
	Spec       JobSpec `json:"spec"`
}

// JobSpec is a Job's spec. Every field is written, 0 included.
type JobSpec struct {
	CompletionMode        string      `json:"completionMode"`
	Completions           int         `json:"completions"`
	Parallelism           int         `json:"parallelism"`
	BackoffLimit          int         `json:"backoffLimit"`
	ActiveDeadlineSeconds int64       `json:"activeDeadlineSeconds"`
	Template              PodTemplate `json:"template"`
}

// Selector is a label selector by equality.
type Selector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// PodTemplate is a workload's pod template.
type PodTemplate struct {
	Metadata struct {
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec PodSpec `json:"spec"`
}

// PodSpec is a pod's spec.
type PodSpec struct {
	InitContainers     []Container         `json:"initContainers,omitempty"`
	Containers         []Container         `json:"containers"`
	RestartPolicy      string              `json:"restartPolicy,omitempty"`
	EnableServiceLinks *bool               `json:"enableServiceLinks,omitempty"`
	SecurityContext    *PodSecurityContext `json:"securityContext,omitempty"`
	Affinity           *Affinity           `json:"affinity,omitempty"`
	Volumes            []Volume            `json:"volumes,omitempty"`
}

// Container is one container of a pod.
type Container struct {
	Name            string           `json:"name"`
	Image           string           `json:"image"`
	ImagePullPolicy string           `json:"imagePullPolicy,omitempty"`
	Args            []string         `json:"args,omitempty"`
	Env             []EnvVar         `json:"env,omitempty"`
	EnvFrom         []EnvFrom        `json:"envFrom,omitempty"`
	Ports           []ContainerPort  `json:"ports,omitempty"`
	ReadinessProbe  *Probe           `json:"readinessProbe,omitempty"`
	Resources       Resources        `json:"resources"`
	SecurityContext *SecurityContext `json:"securityContext,omitempty"`
	VolumeMounts    []VolumeMount    `json:"volumeMounts,omitempty"`
}

// EnvVar is an environment variable, a value or a reference.
type EnvVar struct {
	Name      string     `json:"name"`
	Value     string     `json:"value,omitempty"`
	ValueFrom *EnvSource `json:"valueFrom,omitempty"`
}

// EnvSource is where a variable's value comes from.
type EnvSource struct {
	ConfigMapKeyRef *KeyRef   `json:"configMapKeyRef,omitempty"`
	FieldRef        *FieldRef `json:"fieldRef,omitempty"`
}

// KeyRef is a key of a ConfigMap.
type KeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// FieldRef is a field of the pod (the downward API).
type FieldRef struct {
	FieldPath string `json:"fieldPath"`
}

// EnvFrom takes every key of a Secret as a variable.
type EnvFrom struct {
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// SecretRef names a Secret; Optional: the pod starts without it.
type SecretRef struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional"`
}

// ContainerPort is a port a container listens on.
type ContainerPort struct {
	Name          string `json:"name"`
	ContainerPort int    `json:"containerPort"`
}

// Probe is a readiness probe: an HTTP GET or a TCP connect.
type Probe struct {
	HTTPGet          *HTTPGet   `json:"httpGet,omitempty"`
	TCPSocket        *TCPSocket `json:"tcpSocket,omitempty"`
	PeriodSeconds    int        `json:"periodSeconds"`
	TimeoutSeconds   int        `json:"timeoutSeconds"`
	FailureThreshold int        `json:"failureThreshold"`
}

// HTTPGet probes GET Path on Port.
type HTTPGet struct {
	Path string `json:"path"`
	Port int    `json:"port"`
}

// TCPSocket probes a TCP connect to Port.
type TCPSocket struct {
	Port int `json:"port"`
}

// Resources are a container's requests and limits ("cpu", "memory").
type Resources struct {
	Requests map[string]string `json:"requests"`
	Limits   map[string]string `json:"limits"`
}

// SecurityContext is a container's.
type SecurityContext struct {
	RunAsNonRoot             bool            `json:"runAsNonRoot"`
	RunAsUser                int64           `json:"runAsUser"`
	RunAsGroup               int64           `json:"runAsGroup,omitempty"`
	AllowPrivilegeEscalation bool            `json:"allowPrivilegeEscalation"`
	Capabilities             Capabilities    `json:"capabilities"`
	SeccompProfile           *SeccompProfile `json:"seccompProfile,omitempty"`
}

// Capabilities are the Linux capabilities dropped.
type Capabilities struct {
	Drop []string `json:"drop"`
}

// SeccompProfile is a seccomp profile by type.
type SeccompProfile struct {
	Type string `json:"type"`
}

// PodSecurityContext is a pod's.
type PodSecurityContext struct {
	RunAsNonRoot   bool            `json:"runAsNonRoot"`
	FSGroup        int64           `json:"fsGroup,omitempty"`
	SeccompProfile *SeccompProfile `json:"seccompProfile,omitempty"`
}

// Affinity holds a pod anti-affinity.
type Affinity struct {
	PodAntiAffinity struct {
		Preferred []WeightedTerm `json:"preferredDuringSchedulingIgnoredDuringExecution"`
	} `json:"podAntiAffinity"`
}

// WeightedTerm is a preferred scheduling term.
type WeightedTerm struct {
	Weight int `json:"weight"`
	Term   struct {
		LabelSelector Selector `json:"labelSelector"`
		TopologyKey   string   `json:"topologyKey"`
	} `json:"podAffinityTerm"`
}

// VolumeMount mounts a volume into a container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Volume is a ConfigMap's keys as files, or an emptyDir.
type Volume struct {
	Name      string           `json:"name"`
	ConfigMap *ConfigMapVolume `json:"configMap,omitempty"`
	EmptyDir  *struct{}        `json:"emptyDir,omitempty"`
}

// ConfigMapVolume puts the keys Items of the ConfigMap Name in files.
type ConfigMapVolume struct {
	Name  string      `json:"name"`
	Items []KeyToPath `json:"items"`
}

// KeyToPath is a key and the file it becomes.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}
