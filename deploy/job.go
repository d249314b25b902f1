package deploy

import (
	"strconv"
	"time"
)

// runConfig is RunConfig: the profile file and the run's settings, read
// by the pods as environment variables and (the profile) as a file.
func runConfig(o Options) *ConfigMap {
	return &ConfigMap{
		APIVersion: "v1", Kind: "ConfigMap", Meta: meta(RunConfig),
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
func loadgenJob(o Options) *Job {
	c := Container{Name: "loadgen", Image: o.Image, ImagePullPolicy: pullPolicy, Args: ShardArgs(o),
		Env: []EnvVar{
			// The Job controller sets it too; said here so that the
			// arguments' $(JOB_COMPLETION_INDEX) is visibly defined.
			fromField(EnvIndex, "metadata.annotations['"+indexAnnot+"']"),
			fromConfig(EnvPattern, KeyPattern), fromConfig(EnvShards, KeyShards), fromConfig(EnvStartAt, KeyStartAt),
		},
		Resources:       guaranteed("1", "1Gi"),
		SecurityContext: restricted(nonroot),
		VolumeMounts: []VolumeMount{
			{Name: "profile", MountPath: ProfileDir, ReadOnly: true},
			{Name: "runs", MountPath: RunsDir},
		},
	}
	kafkaEnv(&c) // shard 0 reads the consumer lag from the brokers
	spec := podSpec(c)
	spec.RestartPolicy = "Never"
	key := ProfileKey(o.Profile)
	spec.Volumes = []Volume{
		{Name: "profile", ConfigMap: &ConfigMapVolume{Name: RunConfig, Items: []KeyToPath{{Key: key, Path: key}}}},
		{Name: "runs", EmptyDir: &struct{}{}},
	}
	spec.Affinity = spreadOut(JobName)
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &Job{APIVersion: "batch/v1", Kind: "Job", Meta: meta(JobName),
		Spec: JobSpec{
			CompletionMode: "Indexed", Completions: o.Shards, Parallelism: o.Shards,
			BackoffLimit: 0, ActiveDeadlineSeconds: deadline(o, now),
			Template: template(JobName, spec),
		}}
}
