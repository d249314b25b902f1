package deploy_test

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/commbench/commbench/deploy"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
)

// options are the rendering of profiles/<name>.yaml at a fixed time.
func options(t *testing.T, name string) deploy.Options {
	t.Helper()
	file := "../profiles/" + name + ".yaml"
	p, err := profiles.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	return deploy.Options{Profile: p, ProfileYAML: b, Shards: 1, Now: now, StartAt: now.Add(deploy.DefaultStartIn)}
}

// Decode splits a YAML stream into documents and decodes each strictly
// into its Kubernetes API type: an unknown field, a field of the wrong
// type or a kind this package does not render fails. Comments and empty
// documents are skipped.
func Decode(t *testing.T, stream []byte) []runtime.Object {
	t.Helper()
	var objs []runtime.Object
	for i, doc := range bytes.Split(stream, []byte("\n---\n")) {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if head.Kind == "" {
			continue // the comment before the first ---
		}
		var obj runtime.Object
		switch head.APIVersion + "/" + head.Kind {
		case "v1/ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1/Service":
			obj = &corev1.Service{}
		case "apps/v1/Deployment":
			obj = &appsv1.Deployment{}
		case "apps/v1/StatefulSet":
			obj = &appsv1.StatefulSet{}
		case "batch/v1/Job":
			obj = &batchv1.Job{}
		default:
			t.Fatalf("document %d: %s %s: not a kind the strict decode knows", i, head.APIVersion, head.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("document %d (%s): %v", i, head.Kind, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// TestStrictDecodeRefusesUnknownFields shows that the strict decode can
// fail: a misspelt field in a Deployment is refused.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	doc := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 1}\n")
	if err := yaml.UnmarshalStrict(doc, &appsv1.Deployment{}); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Errorf("a Deployment with spec.replica decoded: %v", err)
	}
}

// TestRender renders 1 and 3 shards × Kafka in the cluster (1 and 3
// nodes) or external × every pattern, decodes every document strictly,
// and checks how the pieces meet.
func TestRender(t *testing.T) {
	for _, shards := range []int{1, 3} {
		for _, kafka := range []string{"in-cluster-1", "in-cluster-3", "external"} {
			for _, pt := range pattern.All() {
				t.Run(fmt.Sprintf("%d-%s-%s", shards, kafka, pt), func(t *testing.T) {
					o := options(t, "surge")
					o.Shards, o.Pattern = shards, pt
					switch kafka {
					case "external":
						o.Kafka, o.Brokers = deploy.External, []string{"bootstrap.kafka.svc:9092", "b2.kafka.svc:9093"}
					case "in-cluster-3":
						o.Kafka, o.KafkaNodes = deploy.InCluster, 3
					}
					var buf bytes.Buffer
					if err := deploy.Render(&buf, o); err != nil {
						t.Fatal(err)
					}
					local, err := deploy.Objects(o)
					if err != nil {
						t.Fatal(err)
					}
					checkWiring(t, o, Decode(t, buf.Bytes()), local)
				})
			}
		}
	}
}

type rendered struct {
	config   *corev1.ConfigMap
	services map[string]*corev1.Service
	deploys  map[string]*appsv1.Deployment
	kafka    *appsv1.StatefulSet
	job      *batchv1.Job
}

func index(t *testing.T, objs []runtime.Object) rendered {
	t.Helper()
	r := rendered{services: map[string]*corev1.Service{}, deploys: map[string]*appsv1.Deployment{}}
	for _, o := range objs {
		switch x := o.(type) {
		case *corev1.ConfigMap:
			r.config = x
		case *corev1.Service:
			r.services[x.Name] = x
		case *appsv1.Deployment:
			r.deploys[x.Name] = x
		case *appsv1.StatefulSet:
			r.kafka = x
		case *batchv1.Job:
			r.job = x
		}
	}
	if r.config == nil || r.job == nil || len(r.deploys) != 3 {
		t.Fatalf("want a ConfigMap, a Job and 3 Deployments; got %d objects", len(objs))
	}
	return r
}

// checkWiring checks the strictly decoded objs, and the command lines
// the kubelet would run from the same objects (local, as rendered).
func checkWiring(t *testing.T, o deploy.Options, objs []runtime.Object, local []deploy.Object) {
	t.Helper()
	if err := o.Check(); err != nil { // the defaults, as Render filled them in
		t.Fatal(err)
	}
	r := index(t, objs)
	checkJob(t, o, r, local)
	checkServices(t, r)
	checkKafka(t, o, r)
	for _, d := range r.deploys {
		if s := d.Spec.Template.Spec; s.EnableServiceLinks == nil || *s.EnableServiceLinks {
			t.Errorf("%s: service links on: a Service named kafka would put KAFKA_PORT into the pod", d.Name)
		}
	}
	react, err := deploy.Command(local, deploy.ReactionName, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := flagValue(react.Args, "mode"); got != string(o.Pattern) {
		t.Errorf("reaction --mode %q, want %q", got, o.Pattern)
	}
	coll, err := deploy.Command(local, deploy.CollectorName, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := flagValue(coll.Args, "shards"); got != strconv.Itoa(o.Shards) {
		t.Errorf("collector --shards %q, want %d", got, o.Shards)
	}
}

// checkJob checks the load generator: an Indexed Job of n pods at once,
// pod i running shard i/n at the one start time, against the Services,
// with the profile where --profile reads it, uploading what --out wrote.
func checkJob(t *testing.T, o deploy.Options, r rendered, objs []deploy.Object) {
	t.Helper()
	js := r.job.Spec
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion || *js.Completions != int32(o.Shards) || *js.Parallelism != int32(o.Shards) {
		t.Errorf("job: mode %v, completions %d, parallelism %d; want Indexed, %d, %d", js.CompletionMode, *js.Completions, *js.Parallelism, o.Shards, o.Shards)
	}
	if js.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || *js.BackoffLimit != 0 {
		t.Errorf("job: restart %s, backoff %d; a shard is not retried", js.Template.Spec.RestartPolicy, *js.BackoffLimit)
	}
	starts := map[string]bool{}
	for i := range o.Shards {
		p, err := deploy.Command(objs, deploy.JobName, i)
		if err != nil {
			t.Fatal(err)
		}
		if p.Env["JOB_COMPLETION_INDEX"] != strconv.Itoa(i) {
			t.Errorf("pod %d: JOB_COMPLETION_INDEX %q", i, p.Env["JOB_COMPLETION_INDEX"])
		}
		at := slices.Index(p.Args, "--")
		if at < 0 || !slices.Equal(p.Args[:2], []string{"k8s", "shard"}) || p.Args[at+1] != "run" {
			t.Fatalf("pod %d: args %q: want k8s shard ... -- run ...", i, p.Args)
		}
		wrap, run := p.Args[:at], p.Args[at+1:]
		for _, a := range p.Args {
			if strings.Contains(a, "$(") {
				t.Errorf("pod %d: %q is not expanded", i, a)
			}
		}
		sh, err := harness.ParseShard(flagValue(run, "shard"))
		if err != nil || sh.Index != i || sh.Count != o.Shards {
			t.Errorf("pod %d: --shard %q (%v), want %d/%d", i, flagValue(run, "shard"), err, i, o.Shards)
		}
		if flagValue(wrap, "index") != strconv.Itoa(i) {
			t.Errorf("pod %d: k8s shard --index %q", i, flagValue(wrap, "index"))
		}
		starts[flagValue(run, "start-at")] = true
		if flagValue(run, "patterns") != string(o.Pattern) {
			t.Errorf("pod %d: --patterns %q, want %s", i, flagValue(run, "patterns"), o.Pattern)
		}
		if _, err := harness.ParseTargets(flagValue(run, "targets"), slices.Contains(run, "--allow-remote")); err != nil {
			t.Errorf("pod %d: --targets: %v", i, err)
		}
		if flagValue(wrap, "wait") != flagValue(run, "targets") {
			t.Errorf("pod %d: waits for %q, attacks %q", i, flagValue(wrap, "wait"), flagValue(run, "targets"))
		}
		if out := flagValue(run, "out"); out != flagValue(wrap, "dir") || !strings.HasPrefix(out, deploy.RunsDir+"/") || !strings.HasSuffix(out, strconv.Itoa(i)) {
			t.Errorf("pod %d: run --out %q, uploads --dir %q: want the same, under %s, per shard", i, out, flagValue(wrap, "dir"), deploy.RunsDir)
		}
		checkURL(t, r, "pod "+strconv.Itoa(i)+" --collector", flagValue(wrap, "collector"))
		for _, u := range strings.Split(flagValue(run, "targets"), ",") {
			checkURL(t, r, "pod "+strconv.Itoa(i)+" --targets", u)
		}
		checkProfileMount(t, o, r, flagValue(run, "profile"))
		if got := p.Env["KAFKA_BROKERS"]; (got != "") != o.Pattern.UsesKafka() {
			t.Errorf("pod %d: KAFKA_BROKERS %q for %s", i, got, o.Pattern)
		}
	}
	if len(starts) != 1 || !starts[strconv.FormatInt(o.StartAt.Unix(), 10)] {
		t.Errorf("start times %v, want one: %d", starts, o.StartAt.Unix())
	}
}

// checkProfileMount: --profile names a file in a volume of the Job's pod
// that holds that key of the run's ConfigMap, which is the profile.
func checkProfileMount(t *testing.T, o deploy.Options, r rendered, file string) {
	t.Helper()
	spec := r.job.Spec.Template.Spec
	var found bool
	for _, m := range spec.Containers[0].VolumeMounts {
		if !strings.HasPrefix(file, m.MountPath+"/") {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil || v.ConfigMap.Name != r.config.Name {
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if m.MountPath+"/"+it.Path == file {
					found = true
					p, err := profiles.Parse(file, []byte(r.config.Data[it.Key]))
					if err != nil || p.Name != o.Profile.Name {
						t.Errorf("the ConfigMap's %s: %v, name %q", it.Key, err, p.Name)
					}
				}
			}
		}
	}
	if !found {
		t.Errorf("--profile %s: no ConfigMap key mounted there", file)
	}
}

// checkURL: u is http://<Service>:<port> of a Service whose port leads to
// a container port with a readiness probe on /healthz there.
func checkURL(t *testing.T, r rendered, what, u string) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("%s %q: %v", what, u, err)
	}
	svc, ok := r.services[pu.Hostname()]
	if !ok {
		t.Errorf("%s %q: no Service %q", what, u, pu.Hostname())
		return
	}
	port, _ := strconv.Atoi(pu.Port())
	if len(svc.Spec.Ports) != 1 || int(svc.Spec.Ports[0].Port) != port {
		t.Errorf("%s %q: Service %s ports %v", what, u, svc.Name, svc.Spec.Ports)
	}
}

// checkServices: each Service selects its Deployment's pods and sends its
// port to the port the container listens on (--listen), where the
// readiness probe asks /healthz.
func checkServices(t *testing.T, r rendered) {
	t.Helper()
	for _, name := range []string{deploy.ReactionName, deploy.NotificationName, deploy.CollectorName} {
		svc, d := r.services[name], r.deploys[name]
		if svc == nil || d == nil {
			t.Fatalf("%s: Service %v, Deployment %v", name, svc != nil, d != nil)
		}
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v || d.Spec.Selector.MatchLabels[k] != v {
				t.Errorf("%s: the Service selects %s=%s, the pods are %v", name, k, v, d.Spec.Template.Labels)
			}
		}
		c := d.Spec.Template.Spec.Containers[0]
		target := svc.Spec.Ports[0].TargetPort.IntValue()
		if listen := flagValue(c.Args, "listen"); !strings.HasSuffix(listen, ":"+strconv.Itoa(target)) || !strings.HasPrefix(listen, "0.0.0.0:") {
			t.Errorf("%s: --listen %q, Service target port %d", name, listen, target)
		}
		pr := c.ReadinessProbe
		if pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Path != "/healthz" || pr.HTTPGet.Port.IntValue() != target {
			t.Errorf("%s: readiness probe %+v, want GET /healthz on %d", name, pr, target)
		}
		if c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("%s: pull policy %q: a :latest image loaded into the nodes (kind) would be pulled", name, c.ImagePullPolicy)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: resources %v", name, c.Resources)
		}
	}
	react := r.deploys[deploy.ReactionName].Spec.Template.Spec.Containers[0]
	checkURL(t, r, "reaction --notify-url", flagValue(react.Args, "notify-url"))
}

// checkKafka: in the cluster, a StatefulSet of the asked nodes whose pods'
// stable names are the brokers the others read; none for sync or an
// external cluster, whose addresses are passed as given.
func checkKafka(t *testing.T, o deploy.Options, r rendered) {
	t.Helper()
	want := ""
	switch {
	case !o.Pattern.UsesKafka():
	case o.Kafka == deploy.External:
		want = strings.Join(o.Brokers, ",")
	default:
		want = strings.Join(deploy.KafkaAddrs(o.KafkaNodes), ",")
	}
	if got := r.config.Data[deploy.KeyBrokers]; got != want {
		t.Errorf("brokers %q, want %q", got, want)
	}
	inCluster := o.Pattern.UsesKafka() && o.Kafka != deploy.External
	if (r.kafka != nil) != inCluster {
		t.Fatalf("a Kafka StatefulSet: %v, want %v", r.kafka != nil, inCluster)
	}
	if !inCluster {
		return
	}
	svc := r.services[deploy.KafkaName]
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses || r.kafka.Spec.ServiceName != svc.Name {
		t.Errorf("Kafka needs a headless Service publishing unready pods, named in the StatefulSet")
	}
	if *r.kafka.Spec.Replicas != int32(o.KafkaNodes) || r.kafka.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("Kafka: %d replicas, %s; want %d, Parallel", *r.kafka.Spec.Replicas, r.kafka.Spec.PodManagementPolicy, o.KafkaNodes)
	}
	env := map[string]string{}
	for _, e := range r.kafka.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if n := strings.Count(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "@"); n != o.KafkaNodes {
		t.Errorf("quorum voters %q: %d, want %d", env["KAFKA_CONTROLLER_QUORUM_VOTERS"], n, o.KafkaNodes)
	}
	if env["KAFKA_DEFAULT_REPLICATION_FACTOR"] != strconv.Itoa(o.KafkaNodes) {
		t.Errorf("replication factor %q with %d nodes", env["KAFKA_DEFAULT_REPLICATION_FACTOR"], o.KafkaNodes)
	}
	if s := r.kafka.Spec.Template.Spec; s.EnableServiceLinks == nil || *s.EnableServiceLinks {
		t.Error("Kafka: service links on: the image would read KAFKA_PORT=tcp://… as a setting")
	}
	if len(r.deploys[deploy.NotificationName].Spec.Template.Spec.InitContainers) != 1 {
		t.Error("the notification pod has no init container creating the topics")
	}
}

// flagValue returns the value after --name in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// TestCheckRefuses: what the manifests cannot run is refused, naming the
// profile's field or the option.
func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *deploy.Options)
		want string
	}{
		{"replicas", func(o *deploy.Options) { o.Profile.Services.Notification.Replicas = 2 }, "services.notification.replicas"},
		{"chain", func(o *deploy.Options) { o.Profile.Services.Chain.Depth = 4 }, "services.chain.depth"},
		{"groups", func(o *deploy.Options) { o.Profile.Services.Kafka.Groups = []string{"a", "b"} }, "services.kafka.groups"},
		{"process fault", func(o *deploy.Options) {
			o.Profile.Faults = append(o.Profile.Faults, profiles.Fault{Target: profiles.TargetNotification, Kind: profiles.KindKill})
		}, "faults[1]: target notification"},
		{"no brokers", func(o *deploy.Options) { o.Kafka, o.Pattern = deploy.External, pattern.Async }, "brokers"},
		{"bad broker", func(o *deploy.Options) {
			o.Kafka, o.Pattern, o.Brokers = deploy.External, pattern.Async, []string{"nohost"}
		}, "nohost"},
		{"shards", func(o *deploy.Options) { o.Shards = 0 }, "shards"},
		{"nodes", func(o *deploy.Options) { o.KafkaNodes = 2 }, "nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, "surge")
			tt.edit(&o)
			if _, err := deploy.Objects(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestExpand: $(VAR) as the kubelet expands it.
func TestExpand(t *testing.T) {
	env := map[string]string{"I": "2", "N": "3"}
	tests := []struct{ have, want string }{
		{"$(I)/$(N)", "2/3"},
		{"/runs/shard-$(I)", "/runs/shard-2"},
		{"$$(I)", "$(I)"},      // escaped
		{"$(NOPE)", "$(NOPE)"}, // unknown: left as it is
		{"a$", "a$"},
	}
	for _, tt := range tests {
		if got := deploy.Expand(tt.have, env); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.have, got, tt.want)
		}
	}
}
