package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/deploy"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/targets/notification"
)

func init() {
	register(command{name: "k8s", summary: "Kubernetes: render a run's manifests (render); the collector and shard steps the pods run", run: cmdK8s})
}

const k8sUsage = `usage: commbench k8s render|collect|shard [flags]

  render   print the manifests of one run, for kubectl apply -f -:
           commbench k8s render --profile surge --shards 3 --pattern async | kubectl apply -f -
  collect  (in the collector's pod) receive the shards' run folders, serve them as /runs.tar.gz
  shard    (in a load generator's pod) wait for the services, run, upload the run folder
  topics   (in the notification pod's init container) create the topics once Kafka answers

Run 'commbench k8s render -h' for its flags; docs/kubernetes.md, "Beyond one machine".`

func cmdK8s(args []string) error {
	if len(args) == 0 {
		return usageErr(errors.New("k8s: missing render, collect, shard or topics"), "run 'commbench k8s -h'")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Println(k8sUsage)
		return errHelp
	case "render":
		return k8sRender(args[1:])
	case "collect":
		return k8sCollect(args[1:])
	case "shard":
		return k8sShard(args[1:])
	case "topics":
		return k8sTopics(args[1:])
	}
	return usageErr(fmt.Errorf("k8s: unknown action %q", args[0]), "want render, collect, shard or topics")
}

// k8sRender prints the manifests of one run.
func k8sRender(args []string) error {
	env, envErr := readEnv()
	fs := flag.NewFlagSet("k8s render", flag.ContinueOnError)
	var (
		profile    = fs.String("profile", "", "profile: a name in profiles/ (surge) or a file; it becomes the ConfigMap "+deploy.RunConfig)
		dir        = fs.String("profiles", "profiles", "folder of named profiles")
		shards     = fs.Int("shards", 1, "load generator pods (the Indexed Job's completions and parallelism)")
		kafka      = fs.String("kafka", string(deploy.InCluster), "where Kafka is: in-cluster (an apache/kafka StatefulSet, rendered) or external (--brokers)")
		nodes      = fs.Int("kafka-nodes", 1, "in-cluster: Kafka nodes, 1 or 3")
		pat        = fs.String("pattern", "", "the pattern the services run: sync, async or hybrid (default: the profile's first)")
		image      = fs.String("image", deploy.DefaultImage, "commbench's image, built from ./Dockerfile and pushed where the cluster pulls from")
		kafkaImage = fs.String("kafka-image", deploy.DefaultKafkaImage, "in-cluster: the Apache Kafka image")
		startIn    = fs.Duration("start-in", deploy.DefaultStartIn, "the shards start the attack this long after the rendering: time to pull images and start Kafka and the services")
		startAt    = fs.String("start-at", "", "or: the start time, unix seconds or RFC 3339 (overrides --start-in)")
	)
	brokers := brokersFlag(env.Brokers)
	fs.Var(&brokers, "brokers", "external: the Kafka bootstrap addresses host:port,... as the pods reach them (default $KAFKA_BROKERS)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	o, err := renderOptions(*profile, *dir, *pat, *kafka)
	if err != nil {
		return err
	}
	if *shards < 1 || *shards > deploy.MaxShards {
		return usageErr(fmt.Errorf("k8s render: --shards %d: want 1 to %d", *shards, deploy.MaxShards), "")
	}
	if *nodes != 1 && *nodes != 3 {
		return usageErr(fmt.Errorf("k8s render: --kafka-nodes %d: want 1 or 3", *nodes), "")
	}
	if o.Kafka == deploy.External && o.Pattern.UsesKafka() && len(brokers) == 0 {
		return usageErr(errors.New("k8s render: --kafka external needs --brokers (or KAFKA_BROKERS)"), "the addresses as the pods reach them, e.g. --brokers my-cluster-kafka-bootstrap.kafka:9092")
	}
	if *startIn <= 0 {
		return usageErr(fmt.Errorf("k8s render: --start-in %v: want more than 0", *startIn), "e.g. --start-in 3m")
	}
	o.Now = time.Now()
	o.StartAt = o.Now.Add(*startIn).Truncate(time.Second)
	if *startAt != "" {
		if o.StartAt, err = parseTime(*startAt); err != nil {
			return usageErr(fmt.Errorf("k8s render: --start-at: %w", err), "")
		}
	}
	o.Shards, o.KafkaNodes, o.Brokers, o.Image, o.KafkaImage = *shards, *nodes, brokers, *image, *kafkaImage
	if err := deploy.Render(os.Stdout, o); err != nil {
		return usageErr(fmt.Errorf("k8s render: %w", err), "")
	}
	return nil
}

// renderOptions reads the profile, the pattern and the Kafka flag.
func renderOptions(profile, dir, pat, kafka string) (deploy.Options, error) {
	var o deploy.Options
	if profile == "" {
		return o, usageErr(errors.New("k8s render: --profile is required"), "e.g. commbench k8s render --profile surge; profiles: "+availableProfiles(dir))
	}
	file, err := profiles.Resolve(dir, profile)
	if err != nil {
		return o, usageErr(fmt.Errorf("k8s render: --profile: %w", err), "")
	}
	if o.Profile, err = profiles.Load(file); err != nil {
		return o, usageErr(err, "fix the profile and render again")
	}
	if o.ProfileYAML, err = os.ReadFile(file); err != nil {
		return o, err
	}
	if pat != "" {
		if o.Pattern, err = pattern.Parse(pat); err != nil {
			return o, usageErr(fmt.Errorf("k8s render: --pattern: %w", err), "")
		}
	}
	if o.Kafka, err = deploy.ParseKafka(kafka); err != nil {
		return o, usageErr(fmt.Errorf("k8s render: --kafka: %w", err), "")
	}
	return o, nil
}

// k8sCollect is the collector's process: it serves deploy.Collector until
// SIGTERM.
func k8sCollect(args []string) error {
	fs := flag.NewFlagSet("k8s collect", flag.ContinueOnError)
	addr := fs.String("listen", "127.0.0.1:8090", "address to serve on (port 0 picks a free one)")
	dir := fs.String("dir", "", "folder to keep the shards' run folders in (required)")
	shards := fs.String("shards", "", "how many shards will upload (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	n, err := strconv.Atoi(*shards)
	if err != nil || n < 1 || n > deploy.MaxShards {
		return usageErr(fmt.Errorf("k8s collect: --shards %q: want 1 to %d", *shards, deploy.MaxShards), "in the pod it comes from "+deploy.EnvShards)
	}
	if *dir == "" {
		return usageErr(errors.New("k8s collect: --dir is required"), "")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return usageErr(fmt.Errorf("k8s collect: --dir: %w", err), "")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usageErr(fmt.Errorf("k8s collect: --listen %s: %w", *addr, err), "")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "collector: "+format+"\n", args...) }
	c := &deploy.Collector{Dir: *dir, Shards: n, Logf: logf}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("LISTEN=%s\n", ln.Addr())
	logf("waiting for %d shard(s) in %s", n, *dir)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// k8sShard is a load generator pod's process: wait until the services
// are ready, run (the arguments after --), then upload the run folder to
// the collector whether or not the run succeeded.
func k8sShard(args []string) error {
	fs := flag.NewFlagSet("k8s shard", flag.ContinueOnError)
	index := fs.String("index", "", "this shard's index (in the pod: "+deploy.EnvIndex+")")
	wait := fs.String("wait", "", "URLs whose /healthz must answer before the run, comma-separated")
	waitFor := fs.Duration("wait-timeout", 10*time.Minute, "how long to wait for them")
	collector := fs.String("collector", "", "the collector's URL, where the run folder goes")
	dir := fs.String("dir", "", "the run's --out: the folder to upload")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commbench k8s shard --index I --collector URL --dir DIR [--wait URL,...] -- run ...")
		fs.PrintDefaults()
	}
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageErr(fmt.Errorf("k8s shard: %w", err), "run 'commbench k8s shard -h'")
	}
	i, err := strconv.Atoi(*index)
	if err != nil || i < 0 {
		return usageErr(fmt.Errorf("k8s shard: --index %q: want a number from 0", *index), "in the pod it comes from "+deploy.EnvIndex+", which an Indexed Job sets")
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "run" {
		return usageErr(errors.New("k8s shard: want the run's command line after the flags: -- run --shard ..."), "")
	}
	if *collector == "" || *dir == "" {
		return usageErr(errors.New("k8s shard: --collector and --dir are required"), "")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *wait != "" {
		fmt.Fprintf(os.Stderr, "commbench: shard %d: waiting for %s\n", i, *wait)
		if err := deploy.WaitHealthy(ctx, splitList(*wait), *waitFor); err != nil {
			return fmt.Errorf("k8s shard: %w", err)
		}
	}
	stop()
	runErr := cmdRun(rest[1:])
	if _, err := os.Stat(*dir); err != nil {
		return errors.Join(runErr, fmt.Errorf("k8s shard: nothing to upload: %w", err))
	}
	uctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := deploy.Upload(uctx, *collector, i, *dir, 60, 5*time.Second); err != nil {
		return errors.Join(runErr, fmt.Errorf("k8s shard: %w", err))
	}
	fmt.Fprintf(os.Stderr, "commbench: shard %d: %s uploaded to %s\n", i, *dir, *collector)
	return runErr
}

// k8sTopics creates the services' topics (the default topic and its
// dead-letter topic) on the brokers of KAFKA_BROKERS, trying every 2 s
// until Kafka answers, for at most --timeout: Kafka in the cluster starts
// beside the services, and an init container that failed at once would
// be restarted with a back-off growing to minutes.
func k8sTopics(args []string) error {
	env, envErr := readEnv()
	fs := flag.NewFlagSet("k8s topics", flag.ContinueOnError)
	partitions := fs.Int("partitions", 8, "partitions of each topic")
	rf := fs.Int("replication-factor", 0, "copies of each partition; 0: the cluster's default")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to try")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	if len(env.Brokers) == 0 {
		return usageErr(errors.New("k8s topics: KAFKA_BROKERS is empty"), "the pod reads it from the ConfigMap "+deploy.RunConfig)
	}
	if *partitions < 1 || *rf < 0 || *timeout <= 0 {
		return usageErr(fmt.Errorf("k8s topics: --partitions %d, --replication-factor %d, --timeout %v: want at least 1, 0 or more, more than 0", *partitions, *rf, *timeout), "")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	topics := []string{notification.DefaultTopic, notification.DefaultTopic + ".dlq"}
	for try := 1; ; try++ {
		err := createTopics(ctx, env, *partitions, *rf, topics)
		if err == nil {
			fmt.Fprintf(os.Stderr, "commbench: topics %s ready on %s (%d partitions)\n", strings.Join(topics, ", "), strings.Join(env.Brokers, ","), *partitions)
			return nil
		}
		if try == 1 || try%15 == 0 {
			fmt.Fprintf(os.Stderr, "commbench: Kafka not ready yet (try %d): %v\n", try, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("k8s topics: no Kafka at %s after %v: %w", strings.Join(env.Brokers, ","), *timeout, err)
		case <-time.After(2 * time.Second):
		}
	}
}

func createTopics(ctx context.Context, env environ, partitions, rf int, topics []string) error {
	c, err := broker.NewClient(env.Brokers, env.Kafka)
	if err != nil {
		return err
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return c.CreateReplicatedTopics(cctx, partitions, rf, topics...)
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
