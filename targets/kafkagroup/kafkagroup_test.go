package kafkagroup

import "testing"

func TestTrackerCommitsOnlyContiguousOffsets(t *testing.T) {
	type step struct {
		done       int64
		wantCommit int64 // -1: nothing to commit yet
	}
	tests := []struct {
		name    string
		fetched []int64
		steps   []step
	}{
		{"in order", []int64{0, 1, 2}, []step{{0, 0}, {1, 1}, {2, 2}}},
		{"out of order waits for the head", []int64{5, 6, 7}, []step{{7, -1}, {6, -1}, {5, 7}}},
		{"a gap in the middle", []int64{0, 1, 2, 3}, []step{{0, 0}, {2, -1}, {3, -1}, {1, 3}}},
		{"an offset from before a rebalance is ignored", []int64{10, 11}, []step{{3, -1}, {10, 10}, {11, 11}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tracker
			for _, off := range tt.fetched {
				tr.Fetched(0, off)
			}
			for _, s := range tt.steps {
				got, ok := tr.Done(0, s.done)
				if !ok {
					got = -1
				}
				if got != s.wantCommit {
					t.Errorf("done(%d): got commit %d, want %d", s.done, got, s.wantCommit)
				}
			}
		})
	}
}

func TestTrackerRestartsAPartitionHandedBack(t *testing.T) {
	var tr Tracker
	tr.Fetched(3, 100)
	tr.Fetched(3, 101)
	// A rebalance hands partition 3 back from its committed offset 100.
	tr.Fetched(3, 100)
	if got, ok := tr.Done(3, 100); !ok || got != 100 {
		t.Errorf("got %d %v, want 100 true", got, ok)
	}
}

// A message of an earlier generation, delivered after the partition
// started again (kafka-go's FetchMessage can), must not make the tracker
// forget an offset still being handled. The tracker before this one
// started the partition afresh at 11 and committed 11 while 10 was in
// flight.
func TestTrackerNeverCommitsPastAnOffsetInFlight(t *testing.T) {
	var tr Tracker
	tr.Fetched(0, 10) // the new generation's start, handled slowly
	tr.Fetched(0, 13) // a message of the old generation, late
	tr.Fetched(0, 11)
	tr.Fetched(0, 12)
	for _, off := range []int64{11, 12, 13} {
		if got, ok := tr.Done(0, off); ok {
			t.Fatalf("done(%d): committed %d while 10 is in flight", off, got)
		}
	}
	if got, ok := tr.Done(0, 10); !ok || got != 13 {
		t.Errorf("done(10): got %d %v, want 13 true", got, ok)
	}
}

// Members share one tracker: what one member handles does not let another
// commit past what it still handles, on the same partition.
func TestTrackerIsSharedByTheMembers(t *testing.T) {
	var tr Tracker
	tr.Fetched(2, 40) // member A, slow
	tr.Fetched(2, 41) // member B, after a rebalance, the same partition
	if got, ok := tr.Done(2, 41); ok {
		t.Fatalf("done(41): committed %d while 40 is in flight", got)
	}
	if got, ok := tr.Done(2, 40); !ok || got != 41 {
		t.Errorf("done(40): got %d %v, want 41 true", got, ok)
	}
	if _, ok := tr.Done(2, 40); ok {
		t.Errorf("a second handling of 40 (a redelivery) moved the commit point")
	}
}

// A commit lost with its generation: the partition comes back from the
// old committed offset, and the commit is made again when the handling
// gets back there.
func TestTrackerCommitsAgainAfterARefetch(t *testing.T) {
	var tr Tracker
	tr.Fetched(1, 5)
	tr.Fetched(1, 6)
	tr.Done(1, 5)
	if got, ok := tr.Done(1, 6); !ok || got != 6 {
		t.Fatalf("done(6): got %d %v, want 6 true", got, ok)
	}
	tr.Fetched(1, 5) // the commit of 6 was lost: 5 and 6 again
	tr.Fetched(1, 6)
	tr.Done(1, 5)
	if got, ok := tr.Done(1, 6); !ok || got != 6 {
		t.Errorf("done(6) again: got %d %v, want 6 true", got, ok)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	good := Config{Brokers: []string{"127.0.0.1:9092"}, Topic: "t", Group: "g", Consumers: 1, Concurrency: 1}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }, "consume: no Kafka brokers given"},
		{"no topic", func(c *Config) { c.Topic = "" }, "consume: no topic given"},
		{"no group", func(c *Config) { c.Group = "" }, "consume: no consumer group given"},
		{"no consumers", func(c *Config) { c.Consumers = 0 }, "consumers: must be at least 1, got 0"},
		{"no concurrency", func(c *Config) { c.Concurrency = -2 }, "concurrency: must be at least 1, got -2"},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tt := range tests {
		c := good
		tt.edit(&c)
		if err := c.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}
