package broker

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ServeEmbeddedCommand is the hidden commbench command line that serves an
// embedded broker; Up runs Options.Exe with it and these flags:
// --port N --partitions N.
var ServeEmbeddedCommand = []string{"broker", "serve-embedded"}

// kfakeVersion is the kfake module version the binary exe was built with.
func kfakeVersion(exe string) string {
	bi, err := buildinfo.ReadFile(exe)
	if err == nil {
		for _, d := range bi.Deps {
			if d.Path == "github.com/twmb/franz-go/pkg/kfake" {
				if d.Replace != nil {
					d = d.Replace
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

// ServeEmbedded runs a one-node kfake cluster on 127.0.0.1:port until ctx
// ends. Topics are created with CreateTopics (partitions is the default
// count when a request leaves it unset) and, like a default Kafka broker,
// on first use by a producer's Metadata request.
func ServeEmbedded(ctx context.Context, port, partitions int, log io.Writer) error {
	if partitions <= 0 {
		partitions = DefaultPartitions
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.ClusterID("commbench-embedded"),
	)
	if err != nil {
		return fmt.Errorf("%s on port %d: %w", EmbeddedLabel, port, err)
	}
	defer c.Close()
	fmt.Fprintf(log, "%s listening on %v (pid %d)\n", EmbeddedLabel, c.ListenAddrs(), os.Getpid())
	<-ctx.Done()
	fmt.Fprintf(log, "%s stopping\n", EmbeddedLabel)
	return nil
}

// upEmbedded starts `Exe broker serve-embedded` as a child process.
func upEmbedded(ctx context.Context, o Options) (b *Broker, err error) {
	start := time.Now()
	exe := o.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%s: find the commbench binary: %w", EmbeddedLabel, err)
		}
	}
	dataDir, owns, err := makeDataDir(o.DataDir, "commbench-kfake-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && owns {
			os.RemoveAll(dataDir)
		}
	}()
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	args := append(append([]string(nil), ServeEmbeddedCommand...),
		"--port", strconv.Itoa(ports[0]), "--partitions", strconv.Itoa(o.Partitions))
	cmd := exec.Command(exe, args...)
	cmd.Dir = dataDir
	logFile := filepath.Join(dataDir, "kfake.log")
	b, err = startProcess(o, cmd, logFile)
	if err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", EmbeddedLabel, exe, err)
	}
	b.Kind, b.Version, b.DataDir, b.LogFile, b.OwnsDataDir = Embedded, kfakeVersion(exe), dataDir, logFile, owns
	b.Addrs = []string{fmt.Sprintf("127.0.0.1:%d", ports[0])}
	o.logf("starting %s (pid %d) at %s", EmbeddedLabel, b.PID, b.Addrs[0])
	if err := waitReady(ctx, o, b, logFile); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultStopTimeout+5*time.Second)
		defer cancel()
		b.OwnsDataDir = false
		_ = b.Stop(stopCtx)
		return nil, err
	}
	o.logf("%s ready in %v", b, time.Since(start).Round(time.Millisecond))
	return b, nil
}
