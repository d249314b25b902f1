package main

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/harness"
)

// composeFile is the part of docker-compose.bench.yml the check reads.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Profiles    []string          `yaml:"profiles"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]any    `yaml:"depends_on"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// interpolate resolves ${VAR:-default} and ${VAR} the way Compose does
// with VAR unset.
func interpolate(s string) string {
	return regexp.MustCompile(`\$\{[A-Z_]+(:-([^}]*))?\}`).ReplaceAllString(s, "$2")
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.bench.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.bench.yml: %v", err)
	}
	return c
}

// runQuiet runs the command line args of the commbench binary with its
// output discarded and returns its exit code.
func runQuiet(t *testing.T, args []string) int {
	t.Helper()
	stdout, stderr := os.Stdout, os.Stderr
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	os.Stdout, os.Stderr = null, null
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	return run(args)
}

// flagValue returns the value after --name in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if (a == "--"+name || a == "-"+name) && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// TestCompose checks docker-compose.bench.yml against the code, as there
// is no Docker engine to run it: the services, that each command is a
// commbench subcommand whose flags the binary accepts, the ports, the
// environment the binary reads, and the Kafka nodes' settings.
func TestCompose(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"kafka", "kafka-1", "kafka-2", "kafka-3", "loadgen", "notification", "reaction", "topics"}
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}

	// What the binary reads from its environment: the brokers and the
	// Kafka security settings. Every commbench container gets exactly these.
	wantEnv := append([]string{"KAFKA_BROKERS"}, kafkasec.Vars...)
	sort.Strings(wantEnv)

	listenPorts := map[string]string{} // service -> port it listens on
	for _, name := range names {
		s := c.Services[name]
		if !strings.HasPrefix(s.Image, "commbench") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if s.Build == nil {
				t.Errorf("no build: the commbench image is built from ./Dockerfile")
			}
			if len(s.Command) == 0 {
				t.Fatal("no command")
			}
			args := make([]string, len(s.Command))
			for i, a := range s.Command {
				args[i] = interpolate(a)
			}
			// Every flag before -h is known: exit 0; an unknown one: 2.
			if code := runQuiet(t, append(slices.Clone(args), "-h")); code != exitOK {
				t.Errorf("commbench %s -h exits %d: a subcommand or flag the binary does not know", strings.Join(args, " "), code)
			}
			var env []string
			for k := range s.Environment {
				env = append(env, k)
			}
			sort.Strings(env)
			if !slices.Equal(env, wantEnv) {
				t.Errorf("environment %v, want %v", env, wantEnv)
			}
			if b := broker.SplitAddrs(interpolate(s.Environment["KAFKA_BROKERS"])); len(b) == 0 {
				t.Error("KAFKA_BROKERS is empty by default")
			} else {
				for _, a := range b {
					host, _, err := net.SplitHostPort(a)
					if err != nil {
						t.Errorf("KAFKA_BROKERS %q: %v", a, err)
					} else if _, ok := c.Services[host]; !ok {
						t.Errorf("KAFKA_BROKERS %q: no service %q", a, host)
					}
				}
			}
			// An environment variable the code checks must parse when unset
			// (the pass-through of an empty value).
			if _, err := kafkasec.Parse(func(k string) string { return interpolate(s.Environment[k]) }); err != nil {
				t.Errorf("security variables by default: %v", err)
			}
			if l := flagValue(args, "listen"); l != "" {
				_, port, err := net.SplitHostPort(l)
				if err != nil {
					t.Fatalf("--listen %q: %v", l, err)
				}
				listenPorts[name] = port
				if !slices.Contains(s.Ports, port+":"+port) {
					t.Errorf("listens on %s, ports %v do not publish it", port, s.Ports)
				}
				if hc := strings.Join(s.Healthcheck.Test, " "); !strings.Contains(hc, "127.0.0.1:"+port+"/healthz") {
					t.Errorf("healthcheck %q does not ask /healthz on port %s", hc, port)
				}
			}
			for dep := range s.DependsOn {
				if _, ok := c.Services[dep]; !ok {
					t.Errorf("depends on %q: no such service", dep)
				}
			}
		})
	}

	// The URLs the services and the load generator use name the services
	// and the ports they listen on.
	checkURL := func(what, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("%s %q: %v", what, raw, err)
			return
		}
		if port, ok := listenPorts[u.Hostname()]; !ok || port != u.Port() {
			t.Errorf("%s %q: service %q does not listen on port %q", what, raw, u.Hostname(), u.Port())
		}
	}
	checkURL("reaction --notify-url", flagValue(c.Services["reaction"].Command, "notify-url"))
	lg := c.Services["loadgen"].Command
	tg := flagValue(lg, "targets")
	if _, err := harness.ParseTargets(tg, slices.Contains(lg, "--allow-remote")); err != nil {
		t.Errorf("loadgen --targets: %v", err)
	}
	for _, u := range strings.Split(tg, ",") {
		checkURL("loadgen --targets", u)
	}
	if mode := interpolate(flagValue(c.Services["reaction"].Command, "mode")); interpolate(flagValue(lg, "patterns")) != mode {
		t.Errorf("the load generator's --patterns is not the reaction service's --mode %q", mode)
	}

	t.Run("kafka", func(t *testing.T) { checkKafka(t, c) })
}

func checkKafka(t *testing.T, c composeFile) {
	wantImage := "apache/kafka:" + broker.KafkaVersion
	nodes := map[string]int{"kafka": 1, "kafka-1": 3, "kafka-2": 3, "kafka-3": 3} // node -> cluster size
	for name, size := range nodes {
		s := c.Services[name]
		if s.Image != wantImage {
			t.Errorf("%s: image %q, want %q (what broker runs locally)", name, s.Image, wantImage)
		}
		if len(s.Healthcheck.Test) == 0 {
			t.Errorf("%s: no healthcheck", name)
		}
		if (size == 3) != slices.Contains(s.Profiles, "cluster") {
			t.Errorf("%s: profiles %v: the cluster's nodes, and only they, are under the cluster profile", name, s.Profiles)
		}
		e := s.Environment
		for k := range e {
			if !strings.HasPrefix(k, "KAFKA_") && k != "CLUSTER_ID" {
				t.Errorf("%s: %s: the apache/kafka image reads KAFKA_* and CLUSTER_ID only", name, k)
			}
		}
		for k, want := range map[string]string{
			"KAFKA_PROCESS_ROLES":                    "broker,controller",
			"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": map[int]string{1: "1", 3: "3"}[size],
		} {
			if e[k] != want {
				t.Errorf("%s: %s = %q, want %q", name, k, e[k], want)
			}
		}
		if e["CLUSTER_ID"] == "" || e["KAFKA_NODE_ID"] == "" {
			t.Errorf("%s: CLUSTER_ID and KAFKA_NODE_ID are required in KRaft mode", name)
		}
		if voters := strings.Split(e["KAFKA_CONTROLLER_QUORUM_VOTERS"], ","); len(voters) != size {
			t.Errorf("%s: %d controller voters, want %d", name, len(voters), size)
		}
		if !strings.Contains(e["KAFKA_ADVERTISED_LISTENERS"], "INTERNAL://"+name+":9094") {
			t.Errorf("%s: advertised listeners %q: the containers reach it at %s:9094", name, e["KAFKA_ADVERTISED_LISTENERS"], name)
		}
		if size == 3 && (e["KAFKA_DEFAULT_REPLICATION_FACTOR"] != "3" || e["KAFKA_MIN_INSYNC_REPLICAS"] != "2") {
			t.Errorf("%s: replication factor %q, min.insync.replicas %q; want 3 and 2", name, e["KAFKA_DEFAULT_REPLICATION_FACTOR"], e["KAFKA_MIN_INSYNC_REPLICAS"])
		}
	}
}

// TestDockerfile checks that the final stage holds the binary the compose
// commands run, built static from ./cmd/commbench.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	stages := regexp.MustCompile(`(?m)^FROM `).Split(text, -1)
	final := stages[len(stages)-1]
	build := ""
	for _, s := range stages {
		if strings.Contains(s, " AS build") {
			build = s
		}
	}
	for _, want := range []string{"golang:1.26", "CGO_ENABLED=0", "-o /out/commbench ./cmd/commbench"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build stage lacks %q", want)
		}
	}
	for _, want := range []string{"COPY --from=build /out/commbench /commbench", `ENTRYPOINT ["/commbench"]`, "/bin/wget", "COPY profiles/ /profiles/"} {
		if !strings.Contains(final, want) {
			t.Errorf("the final stage lacks %q", want)
		}
	}
	// The load generator's --profiles is where the image has them.
	c := loadCompose(t)
	if got := flagValue(c.Services["loadgen"].Command, "profiles"); got != "/profiles" {
		t.Errorf("loadgen --profiles %q, want /profiles", got)
	}
}
