package deploy

import (
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// runConfig is RunConfig: the profile file and the run's settings, read
// by the pods as environment variables and (the profile) as a file.
func runConfig(o Options) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(RunConfig),
		Data: map[string]string{
			ProfileKey(o.Profile): string(o.ProfileYAML),
			KeyPattern:            string(o.Pattern),
			KeyShards:             strconv.Itoa(o.Shards),
			KeyStartAt:            strconv.FormatInt(o.StartAt.Unix(), 10),
			KeyBrokers:            brokers(o),
		},
	}
}

// shardDir is a shard's --out, the folder it uploads.
const shardDir = RunsDir + "/shard-$(" + EnvIndex + ")"

// RunArgs are `commbench run` as shard $(JOB_COMPLETION_INDEX) of
// $(BENCH_SHARDS) runs it: the profile from RunConfig, the pattern the
// services run, one start time for all, against the Services (not on
// loopback, hence --allow-remote), its run folder under shardDir.
func RunArgs(o Options) []string {
	return []string{"run", "--profile", ProfileDir + "/" + ProfileKey(o.Profile),
		"--patterns", "$(" + EnvPattern + ")",
		"--shard", "$(" + EnvIndex + ")/$(" + EnvShards + ")",
		"--start-at", "$(" + EnvStartAt + ")",
		"--targets", Targets(), "--allow-remote",
		"--out", shardDir,
	}
}

// ShardArgs are a load generator pod's arguments: `commbench k8s shard`
// waits until the services are ready, runs RunArgs, and uploads the run
// folder to the collector, whatever the run's outcome.
func ShardArgs(o Options) []string {
	return append([]string{"k8s", "shard", "--index", "$(" + EnvIndex + ")",
		"--wait", Targets(), "--collector", URL(CollectorName, CollectorPort), "--dir", shardDir, "--"},
		RunArgs(o)...)
}

// deadline bounds the Job: the wait for the start, the stages, the drain,
// and 10 minutes for the rest (the upload, a slow drain's reconcile).
func deadline(o Options, now time.Time) int64 {
	d := max(o.StartAt.Sub(now), 0) + o.Profile.Drain.Timeout.Std() + 10*time.Minute
	for _, s := range o.Profile.Stages {
		d += s.For.Std()
	}
	return int64(d.Round(time.Second) / time.Second)
}

// loadgenJob is the load generator: an Indexed Job of Shards pods, all at
// once, none retried (a shard that failed cannot rejoin a run that
// started without it), spread over the nodes when it can be.
func loadgenJob(o Options) *batchv1.Job {
	c := corev1.Container{Name: "loadgen", Image: o.Image, Args: ShardArgs(o),
		Env: []corev1.EnvVar{
			// The Job controller sets it too; said here so that the
			// arguments' $(JOB_COMPLETION_INDEX) is visibly defined.
			{Name: EnvIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + indexAnnot + "']"}}},
			fromConfig(EnvPattern, KeyPattern), fromConfig(EnvShards, KeyShards), fromConfig(EnvStartAt, KeyStartAt),
		},
		Resources:       guaranteed("1", "1Gi"),
		SecurityContext: restricted(nonroot),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "profile", MountPath: ProfileDir, ReadOnly: true},
			{Name: "runs", MountPath: RunsDir},
		},
	}
	kafkaEnv(&c) // shard 0 reads the consumer lag from the brokers
	spec := podSpec(c)
	spec.RestartPolicy = corev1.RestartPolicyNever
	key := ProfileKey(o.Profile)
	spec.Volumes = []corev1.Volume{
		{Name: "profile", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: RunConfig}, Items: []corev1.KeyToPath{{Key: key, Path: key}}}}},
		{Name: "runs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": JobName}},
			TopologyKey:   "kubernetes.io/hostname",
		}}}}}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	n := int32(o.Shards)
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(JobName),
		Spec: batchv1.JobSpec{
			CompletionMode:        ptr(batchv1.IndexedCompletion),
			Completions:           &n,
			Parallelism:           &n,
			BackoffLimit:          ptr(int32(0)),
			ActiveDeadlineSeconds: ptr(deadline(o, now)),
			Template:              corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(JobName)}, Spec: spec},
		},
	}
}
