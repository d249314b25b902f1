package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/deploy"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/notification"
)

// TestK8sRenderRefusesBadUsage: each usage error exits 2 naming the flag.
func TestK8sRenderRefusesBadUsage(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no profile", nil, "--profile"},
		{"unknown profile", []string{"--profile", "nope"}, "--profile"},
		{"no shards", []string{"--profile", "surge", "--shards", "0"}, "--shards"},
		{"too many shards", []string{"--profile", "surge", "--shards", "5000"}, "--shards"},
		{"bad kafka", []string{"--profile", "surge", "--kafka", "cloud"}, "--kafka"},
		{"two nodes", []string{"--profile", "surge", "--kafka-nodes", "2"}, "--kafka-nodes"},
		{"bad pattern", []string{"--profile", "surge", "--pattern", "rpc"}, "--pattern"},
		{"external without brokers", []string{"--profile", "surge", "--kafka", "external", "--pattern", "async"}, "--brokers"},
		{"bad broker", []string{"--profile", "surge", "--kafka", "external", "--brokers", "nohost"}, "-brokers"},
		{"bad start", []string{"--profile", "surge", "--start-at", "soon"}, "--start-at"},
		{"bad start-in", []string{"--profile", "surge", "--start-in", "-1m"}, "--start-in"},
		{"unknown flag", []string{"--profile", "surge", "--bogus"}, "-bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := runCaptured(t, append([]string{"k8s", "render", "--profiles", "../../profiles"}, tt.args...))
			if code != exitUsage || !strings.Contains(msg, tt.want) {
				t.Errorf("exit %d, %q; want %d and a message naming %s", code, msg, exitUsage, tt.want)
			}
		})
	}
	for _, args := range [][]string{{"k8s", "shard", "--index", "$(JOB_COMPLETION_INDEX)", "--collector", "http://x:1", "--dir", "/d", "--", "run"}, {"k8s", "collect", "--dir", "/tmp", "--shards", "$(BENCH_SHARDS)"}} {
		if code, msg := runCaptured(t, args); code != exitUsage || !strings.Contains(msg, "JOB_COMPLETION_INDEX") && !strings.Contains(msg, "BENCH_SHARDS") {
			t.Errorf("%v: exit %d, %q; want %d naming the variable", args, code, msg, exitUsage)
		}
	}
}

// TestK8sRenderPrintsManifests: the verb prints what deploy.Render does,
// every command line in it one the binary accepts.
func TestK8sRenderPrintsManifests(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out
	code := run([]string{"k8s", "render", "--profiles", "../../profiles", "--profile", "surge", "--shards", "3", "--pattern", "async", "--image", "registry.example/commbench:v1"})
	os.Stdout = stdout
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	b, _ := os.ReadFile(out.Name())
	for _, want := range []string{"kind: Job", "completionMode: Indexed", "image: registry.example/commbench:v1", "kind: StatefulSet", "image: apache/kafka"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the output has no %q", want)
		}
	}
	// Every commbench command line of the manifests parses: -h after it exits 0.
	o := simOptions(t, t.TempDir(), 3, pattern.Async)
	objs, err := deploy.Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{deploy.NotificationName, deploy.ReactionName, deploy.CollectorName, deploy.JobName} {
		p, err := deploy.Command(objs, name, 1)
		if err != nil {
			t.Fatal(err)
		}
		args := p.Args
		if i := indexOf(args, "--"); i > 0 {
			args = args[:i] // k8s shard: its own flags; the run is checked by TestK8sJobLocally
		}
		if code := runQuiet(t, append(args, "-h")); code != exitOK {
			t.Errorf("%s: commbench %s -h exits %d", name, strings.Join(args, " "), code)
		}
	}
	if args := deploy.TopicsArgs(o); runQuiet(t, append(args, "-h")) != exitOK {
		t.Errorf("the topics init container: commbench %s -h fails", strings.Join(args, " "))
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// simProfile is a short sync run: 3 s at 90 rps, split between the shards.
const simProfile = `name: k8ssim
description: the Indexed Job's local simulation
patterns: [sync]
stages:
  - {for: 3s, rate: 90}
warmup: {for: 0s}
services:
  provider: {latency: {p50: 1ms, p99: 5ms}, capacity: 64}
  notification: {consumers: 1, concurrency: 8, retries: 1}
attack: {timeout: 5s, workers: 8, max_workers: 64, connections: 100}
drain: {timeout: 20s}
`

func simOptions(t *testing.T, dir string, shards int, pt pattern.Pattern) deploy.Options {
	t.Helper()
	file := filepath.Join(dir, "k8ssim.yaml")
	if err := os.WriteFile(file, []byte(simProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return deploy.Options{Profile: p, ProfileYAML: []byte(simProfile), Pattern: pt, Shards: shards, Now: now, StartAt: now.Add(12 * time.Second).Truncate(time.Second)}
}

// buildCommbench builds the binary the simulated pods run.
func buildCommbench(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "commbench")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("build commbench: %v\n%s", err, out)
	}
	return exe
}

// podProc is a simulated pod's process.
type podProc struct {
	cmd  *exec.Cmd
	log  bytes.Buffer
	addr string
	done chan error
}

// startPod starts the process p (a container of the manifests, resolved)
// and, when listens, waits for its LISTEN= line. It is stopped at the
// test's end.
func startPod(t *testing.T, exe string, p deploy.Process, listens bool) *podProc {
	t.Helper()
	cmd := exec.Command(exe, p.Args...)
	cmd.Env = os.Environ()
	for k, v := range p.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	pr := &podProc{cmd: cmd, done: make(chan error, 1)}
	cmd.Stderr = &syncWriter{w: &pr.log}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTEN="); ok {
				addrs <- a
			}
		}
		pr.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-pr.done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-pr.done
		}
	})
	if listens {
		select {
		case pr.addr = <-addrs:
		case <-time.After(30 * time.Second):
			t.Fatalf("%v: no LISTEN= line in 30 s: %s", p.Args[:2], pr.log.String())
		}
	}
	return pr
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// localize points a pod's command at this machine: each Service's URL at
// the process behind it, each pod's listen address at a free loopback
// port, and the pod's folders at folders of the test.
func localize(p deploy.Process, repl map[string]string) deploy.Process {
	out := deploy.Process{Env: p.Env}
	for _, a := range p.Args {
		for from, to := range repl {
			a = strings.ReplaceAll(a, from, to)
		}
		out.Args = append(out.Args, a)
	}
	return out
}

// TestK8sJobLocally runs the rendered run on this machine: the
// notification, reaction and collector pods' command lines as processes
// on loopback, then the Job's pod command line n times, each with its
// JOB_COMPLETION_INDEX and its own folder for the pod's emptyDir; then the
// collect and merge step as docs/kubernetes.md gives it (download /runs.tar.gz,
// commbench merge). The merged request count must be the sum of the
// shards', and the merge must write a report.
func TestK8sJobLocally(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs 6 processes: skipped under -short")
	}
	const shards = 3
	exe := buildCommbench(t)
	dir := t.TempDir()
	o := simOptions(t, dir, shards, pattern.Sync)
	objs, err := deploy.Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	cmdOf := func(name string, i int) deploy.Process {
		p, err := deploy.Command(objs, name, i)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	listen := func(port int) string { return "0.0.0.0:" + strconv.Itoa(port) }
	repl := map[string]string{}
	notif := startPod(t, exe, localize(cmdOf(deploy.NotificationName, 0), map[string]string{listen(deploy.NotificationPort): "127.0.0.1:0"}), true)
	repl[deploy.URL(deploy.NotificationName, deploy.NotificationPort)] = "http://" + notif.addr
	react := startPod(t, exe, localize(cmdOf(deploy.ReactionName, 0), map[string]string{listen(deploy.ReactionPort): "127.0.0.1:0",
		deploy.URL(deploy.NotificationName, deploy.NotificationPort): "http://" + notif.addr}), true)
	repl[deploy.URL(deploy.ReactionName, deploy.ReactionPort)] = "http://" + react.addr
	coll := startPod(t, exe, localize(cmdOf(deploy.CollectorName, 0), map[string]string{listen(deploy.CollectorPort): "127.0.0.1:0",
		deploy.CollectDir: filepath.Join(dir, "collected")}), true)
	repl[deploy.URL(deploy.CollectorName, deploy.CollectorPort)] = "http://" + coll.addr

	// The profile, as the ConfigMap volume puts it in the pod.
	profDir := filepath.Join(dir, "etc")
	key := deploy.ProfileKey(o.Profile)
	os.MkdirAll(profDir, 0o755)
	if err := os.WriteFile(filepath.Join(profDir, key), o.ProfileYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	var pods []*podProc
	for i := range shards {
		r := map[string]string{deploy.ProfileDir + "/": profDir + "/", deploy.RunsDir + "/": filepath.Join(dir, "pod"+strconv.Itoa(i), "runs") + "/"}
		for k, v := range repl {
			r[k] = v
		}
		p := localize(cmdOf(deploy.JobName, i), r)
		if p.Env["JOB_COMPLETION_INDEX"] != strconv.Itoa(i) {
			t.Fatalf("pod %d: JOB_COMPLETION_INDEX %q", i, p.Env["JOB_COMPLETION_INDEX"])
		}
		pods = append(pods, startPod(t, exe, p, false))
	}
	for i, pod := range pods {
		select {
		case err := <-pod.done:
			pod.done <- err // for the cleanup
			if err != nil {
				t.Fatalf("shard %d: %v\n%s", i, err, pod.log.String())
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("shard %d still runs after 3 minutes:\n%s", i, pod.log.String())
		}
	}
	checkCollected(t, "http://"+coll.addr, dir, shards)
}

// checkCollected is docs/kubernetes.md's collect and merge: the collector says
// every shard is in; its archive unpacks into one run folder per shard;
// commbench merge of them sums their requests and writes the report.
func checkCollected(t *testing.T, base, dir string, shards int) {
	t.Helper()
	var st deploy.Status
	if err := getJSON(base+"/status", &st); err != nil || !st.Complete || len(st.Received) != shards {
		t.Fatalf("collector status %+v, %v; want %d shards in", st, err, shards)
	}
	resp, err := http.Get(base + "/runs.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	local := filepath.Join(dir, "download")
	if err := deploy.Extract(resp.Body, local); err != nil {
		t.Fatal(err)
	}
	runDirs, _ := filepath.Glob(filepath.Join(local, "shard-*", "*", "results.json"))
	if len(runDirs) != shards {
		t.Fatalf("%d run folders collected, want %d: %v", len(runDirs), shards, runDirs)
	}
	var sum int64
	for i, f := range runDirs {
		runDirs[i] = filepath.Dir(f)
		r, err := results.Read(runDirs[i])
		if err != nil {
			t.Fatal(err)
		}
		sum += r.Patterns["sync"].Summary.Requests
	}
	merged := filepath.Join(dir, "merged")
	if code := runQuiet(t, append([]string{"merge", "--out", merged}, runDirs...)); code != exitOK {
		t.Fatalf("commbench merge exits %d", code)
	}
	m, err := results.Read(merged)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Patterns["sync"].Summary
	t.Logf("%d shards collected; merged: %d requests (the shards' sum %d), %d accepted, %d delivered", shards, s.Requests, sum, s.Accepted, s.Delivered)
	if s.Requests != sum || sum == 0 {
		t.Errorf("merged requests %d, the shards' sum %d", s.Requests, sum)
	}
	if s.Accepted != s.Requests || s.Lost != 0 {
		t.Errorf("merged: %d accepted of %d, %d lost; a quiet sync run accepts and delivers all", s.Accepted, s.Requests, s.Lost)
	}
	if fi, err := os.Stat(filepath.Join(merged, "index.html")); err != nil || fi.Size() == 0 {
		t.Errorf("no report: %v", err)
	}
}

func getJSON(url string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// TestK8sTopicsWaitsForKafka: the init container's command keeps trying
// until Kafka answers (here kfake, started 3 s after it), then creates
// the topics with the partitions asked for.
func TestK8sTopicsWaitsForKafka(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	t.Setenv("KAFKA_BROKERS", addr)
	done := make(chan int, 1)
	go func() {
		done <- runQuiet(t, []string{"k8s", "topics", "--partitions", "3", "--timeout", "60s"})
	}()
	time.Sleep(3 * time.Second)
	select {
	case code := <-done:
		t.Fatalf("k8s topics ended (exit %d) before Kafka was there", code)
	default:
	}
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("k8s topics exits %d", code)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("k8s topics still runs 90 s after Kafka came up")
	}
	c, err := broker.NewClient([]string{addr}, kafkasec.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, topic := range []string{notification.DefaultTopic, notification.DefaultTopic + ".dlq"} {
		_, parts, err := c.Lag(context.Background(), "k8s-test", topic)
		if err != nil || len(parts) != 3 {
			t.Errorf("topic %s: %d partitions, %v; want 3", topic, len(parts), err)
		}
	}
}
