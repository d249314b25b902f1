package targets_test

import (
	"testing"
	"time"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/notification"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/wire"
)

// TestHopStampsFlowThroughEveryPattern sends reactions through each
// pattern's services (sync: HTTP headers; async: Kafka message headers;
// hybrid: its sync try) and checks that every first delivery was traced:
// each hop histogram holds one value per delivery, none negative, and the
// provider hop holds the provider's latency.
func TestHopStampsFlowThroughEveryPattern(t *testing.T) {
	brokers := startKafka(t)
	const n = 200
	for _, mode := range pattern.All() {
		t.Run(string(mode), func(t *testing.T) {
			s := startStack(t, mode, brokers, "trace-"+string(mode), notification.Config{Provider: provider.Config{P50: 2 * time.Millisecond, P99: 5 * time.Millisecond}})
			post(t, s.reactionURL, 1, n)
			waitDelivered(t, s.notif.Ledger(), n, 20*time.Second)
			snap, err := s.notif.Ledger().Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if snap.Untraced != 0 {
				t.Errorf("untraced deliveries: got %d, want 0", snap.Untraced)
			}
			hops, err := snap.HopHistograms()
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range hops {
				name := wire.HopNames[i]
				if h.TotalCount() != snap.Delivered {
					t.Errorf("hop %s: got %d values, want one per delivery: %d", name, h.TotalCount(), snap.Delivered)
				}
				if h.Min() < 0 {
					t.Errorf("hop %s: got min %d µs, want >= 0", name, h.Min())
				}
			}
			// The provider's calls last 2 ms at the median: its hop must show them.
			if p50 := hops[wire.HopProvider].ValueAtQuantile(50); p50 < 1000 {
				t.Errorf("provider hop p50: got %d µs, want the provider's ~2,000", p50)
			}
			// Time-to-notify is the sum of the hops, delivery by delivery:
			// the sums of the hops' maxima bound its maximum.
			notify, err := snap.Histogram()
			if err != nil {
				t.Fatal(err)
			}
			var sumMax int64
			for _, h := range hops {
				sumMax += h.Max()
			}
			if notify.Max() > sumMax+int64(wire.NumHops)*notify.Max()/100+10 {
				t.Errorf("time-to-notify max %d µs above the sum of the hops' maxima %d µs", notify.Max(), sumMax)
			}
			t.Logf("%s hops p50 µs: api %d, handoff %d, queue %d, processing %d, provider %d", mode,
				hops[0].ValueAtQuantile(50), hops[1].ValueAtQuantile(50), hops[2].ValueAtQuantile(50), hops[3].ValueAtQuantile(50), hops[4].ValueAtQuantile(50))
		})
	}
}

func TestTraceparent(t *testing.T) {
	tests := []struct {
		have string
		want bool
	}{
		{wire.Traceparent(1), true},                                        // derived from a reaction id
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},  // W3C's example
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", false},  // short
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", false}, // upper case
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false}, // unknown version
		{"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", false}, // separator
		{"", false},
	}
	for _, tt := range tests {
		if got := wire.ValidTraceparent([]byte(tt.have)); got != tt.want {
			t.Errorf("ValidTraceparent(%q): got %v, want %v", tt.have, got, tt.want)
		}
	}
	if got, want := wire.Traceparent(0x2a), "00-636f6d6d62656e63000000000000002a-000000000000002a-01"; got != want {
		t.Errorf("Traceparent(42): got %s, want %s", got, want)
	}
	for _, v := range []string{"", "1", "1,", ",2", "a,2", "0,2"} {
		if _, _, ok := wire.ParseStamps([]byte(v)); ok {
			t.Errorf("ParseStamps(%q): ok, want not", v)
		}
	}
	if a, h, ok := wire.ParseStamps(wire.AppendStamps(nil, 5, 7)); !ok || a != 5 || h != 7 {
		t.Errorf("ParseStamps(AppendStamps(5, 7)): got %d, %d, %v", a, h, ok)
	}
}
