package harness_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// scaleSmoke is quickSmoke with one pattern and the given services.
func scaleSmoke(t *testing.T, pt pattern.Pattern, replicas int, groups ...string) *profiles.Profile {
	t.Helper()
	p := quickSmoke(t)
	p.Patterns = []pattern.Pattern{pt}
	p.Services.Notification.Replicas = replicas
	p.Services.Notification.Balancer = ""
	p.Services.Notification.Consumers = 1
	p.Services.Kafka.Partitions = 8
	if len(groups) > 0 {
		p.Services.Kafka.Groups = groups
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkDelivered fails unless every accepted reaction was delivered once.
func checkDelivered(t *testing.T, key string, s results.Summary) {
	t.Helper()
	if s.Requests != 400 || s.Accepted != 400 {
		t.Errorf("%s: requests %d accepted %d, want 400 and 400", key, s.Requests, s.Accepted)
	}
	if s.Lost != 0 || s.Delivered != s.Accepted || s.Duplicated != 0 {
		t.Errorf("%s: delivered %d lost %d duplicated %d of %d accepted, want all once", key, s.Delivered, s.Lost, s.Duplicated, s.Accepted)
	}
}

func TestScaleOutNginx(t *testing.T) {
	if _, err := harness.FindNginx(); err != nil {
		t.Skipf("scale-out behind nginx: %v", err)
	}
	p := scaleSmoke(t, pattern.Sync, 2)
	res, dir, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Patterns["sync"].Summary
	checkDelivered(t, "sync", s)
	if s.Replicas != 2 || s.Balancer != "nginx" {
		t.Errorf("replicas %d balancer %q, want 2 and nginx", s.Replicas, s.Balancer)
	}
	// Both replicas did work, and the merged ledger is their sum (no id
	// in two ledgers: sync calls one replica per reaction).
	if len(s.ReplicaDelivered) != 2 || s.ReplicaDelivered[0] == 0 || s.ReplicaDelivered[1] == 0 || s.ReplicaDelivered[0]+s.ReplicaDelivered[1] != s.Delivered {
		t.Errorf("replica_delivered %v, want two shares > 0 summing to %d", s.ReplicaDelivered, s.Delivered)
	}
	for _, name := range []string{"notification", "notification-2", "lb"} {
		if _, ok := s.CPUSecondsPer1k[name]; !ok {
			t.Errorf("cpu_s_per_1k has no %q: %v", name, s.CPUSecondsPer1k)
		}
	}
	// nginx was started with a config, pid file and error log in the run
	// folder, and is gone (runSmoke checked its master; the pid file's
	// process must not run either).
	lb := filepath.Join(dir, "lb-sync")
	conf, err := os.ReadFile(filepath.Join(lb, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "listen 127.0.0.1:") || !strings.Contains(string(conf), "keepalive ") {
		t.Errorf("nginx.conf does not listen on loopback with upstream keepalive:\n%s", conf)
	}
	if _, err := os.Stat(filepath.Join(lb, "error.log")); err != nil {
		t.Errorf("nginx error log: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(lb, "nginx.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && syscall.Kill(pid, 0) == nil {
			t.Errorf("nginx (pid %d) still runs after the run", pid)
		}
	}
}

func TestScaleOutConsumers(t *testing.T) {
	p := scaleSmoke(t, pattern.Async, 2)
	res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p, Broker: broker.Options{Kind: broker.Embedded}})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Patterns["async"].Summary
	if s.Lost != 0 || s.Delivered != s.Accepted || s.Accepted != 400 {
		t.Errorf("async: delivered %d lost %d of %d accepted, want all", s.Delivered, s.Lost, s.Accepted)
	}
	if s.Replicas != 2 || s.Balancer != "none" || len(s.ReplicaDelivered) != 2 {
		t.Errorf("replicas %d balancer %q replica_delivered %v, want 2 consumers, no balancer", s.Replicas, s.Balancer, s.ReplicaDelivered)
	}
	t.Logf("async with 2 consumer processes: each delivered %v, duplicated %d", s.ReplicaDelivered, s.Duplicated)
}

func TestFanOut(t *testing.T) {
	p := scaleSmoke(t, pattern.Async, 1, "notification", "analytics")
	res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p, Broker: broker.Options{Kind: broker.Embedded}})
	if err != nil {
		t.Fatal(err)
	}
	pat := res.Patterns["async"]
	s := pat.Summary
	checkDelivered(t, "async", s)
	if len(s.Groups) != 1 || s.Groups[0].Name != "analytics" {
		t.Fatalf("groups %+v, want analytics", s.Groups)
	}
	if g := s.Groups[0]; g.Delivered != s.Accepted || g.Lost != 0 {
		t.Errorf("analytics delivered %d lost %d of %d accepted, want all", g.Delivered, g.Lost, s.Accepted)
	}
	// The drain ends when an extra group's per-second lag sample is 0
	// (fanout.drained), but when the notification group's lag is 0 in the
	// drain's own 100 ms poll (backlogGone): its last per-second sample
	// may be from before, and not 0 on a slow machine (seen under -race).
	if lag := pat.Series.LagByGroup["analytics"]; len(lag) == 0 || lag[len(lag)-1] != 0 {
		t.Errorf("lag_by_group[analytics] = %v, want samples ending at 0", lag)
	}
	if lag := pat.Series.LagByGroup["notification"]; len(lag) == 0 {
		t.Error("lag_by_group[notification]: no samples")
	}
	if _, ok := s.CPUSecondsPer1k["group-analytics"]; !ok {
		t.Errorf("cpu_s_per_1k has no group-analytics: %v", s.CPUSecondsPer1k)
	}
}
