package interop_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/targets/notification"
)

// The lines broker up prints for the Java tools and for confluent-kafka
// (Broker.ClientUsage) are whole commands: run by a shell as printed,
// each lists the topics over SSL and SASL_SSL, with the files broker up
// wrote and nothing written by hand.
func TestPrintedLinesList(t *testing.T) {
	sh, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, p := range protocols {
		s := local(t, p)
		for _, client := range []string{"java tools", "confluent-kafka"} {
			t.Run(string(p)+"/"+client, func(t *testing.T) {
				line := printed(t, s.b, client)
				var env []string
				if client == "confluent-kafka" {
					rdkafka(t, "version") // skips without the wheel
					env = append(env, "PYTHONPATH="+pythonLibs())
				}
				r := execute(t, env, sh, "-c", line)
				if r.err != nil || !strings.Contains(r.stdout, notification.DefaultTopic) {
					t.Errorf("%s's line, run as printed, does not list %s\n%s\n%s", client, notification.DefaultTopic, line, r)
				}
			})
		}
	}
}

// printed is the command of ClientUsage's line for client: the text after
// "client: ", up to the two spaces before a remark in brackets.
func printed(t *testing.T, b *broker.Broker, client string) string {
	t.Helper()
	for _, l := range b.ClientUsage() {
		if cmd, ok := strings.CutPrefix(l, client+": "); ok {
			cmd, _, _ = strings.Cut(cmd, "  (")
			return cmd
		}
	}
	t.Fatalf("broker up prints no line for %s: %q", client, b.ClientUsage())
	return ""
}

// pythonLibs is where confluent-kafka is installed: $COMMBENCH_PYTHONPATH,
// else the checkout's .cache/python (./bench.sh setup).
func pythonLibs() string {
	if p := os.Getenv("COMMBENCH_PYTHONPATH"); p != "" {
		return p
	}
	p, _ := filepath.Abs(filepath.Join("..", "..", ".cache", "python"))
	return p
}
