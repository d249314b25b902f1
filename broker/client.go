package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker/kafkasec"
)

// TopicPrefix starts the name of every topic commbench creates or deletes.
// Topics without it belong to someone else and are never touched.
const TopicPrefix = "commbench."

// ProbeTopic is the topic that readiness checks write one message to.
const ProbeTopic = TopicPrefix + "probe"

// DialTimeout bounds each connection attempt to a broker, so an unreachable
// address fails in seconds, not minutes.
const DialTimeout = 3 * time.Second

// Errors.
var (
	// ErrPrefix is returned for a topic name without TopicPrefix.
	ErrPrefix = errors.New("topic name lacks the " + TopicPrefix + " prefix")
	// ErrNoAddrs is returned when no broker address was given.
	ErrNoAddrs = errors.New("no broker address")
	// ErrAddr is wrapped by ParseAddrs' errors.
	ErrAddr = errors.New("bad broker address")
	// ErrSecurity is wrapped by Up's error when Options.Security is set
	// for a broker that speaks plaintext (Local, Embedded), or
	// Options.Protocol for one that cannot listen with it (Embedded,
	// External).
	ErrSecurity = errors.New("security settings do not fit the broker kind")
)

// Client talks to a cluster for the harness: topics, lag and probes. It
// keeps its connections between calls, so sampling lag every second costs
// three small requests. A Client is safe for concurrent use; Close it when
// done.
type Client struct {
	addrs     []string
	transport *kafka.Transport
	kc        *kafka.Client
	sec       kafkasec.Config // for Probe's errors
}

// NewClient returns a Client for the cluster reached through addrs
// (host:port), its connections secured as sec says (the zero Config is
// plaintext, which is what Local and Embedded brokers speak). It does not
// connect until a method is called.
func NewClient(addrs []string, sec kafkasec.Config) (*Client, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	t := &kafka.Transport{
		DialTimeout: DialTimeout,
		ClientID:    "commbench",
		// Topics come and go between runs; do not serve a stale topic list
		// for long.
		MetadataTTL: time.Second,
		TLS:         sec.TLS,
		SASL:        sec.SASL,
	}
	return &Client{
		addrs:     append([]string(nil), addrs...),
		transport: t,
		kc:        &kafka.Client{Addr: kafka.TCP(addrs...), Transport: t, Timeout: 30 * time.Second},
		sec:       sec,
	}, nil
}

// Close closes the Client's idle connections.
func (c *Client) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}

// Addrs returns the bootstrap addresses the Client was made with.
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// checkNames refuses any name without TopicPrefix.
func checkNames(names []string) error {
	for _, n := range names {
		if !strings.HasPrefix(n, TopicPrefix) || len(n) == len(TopicPrefix) {
			return fmt.Errorf("%q: %w", n, ErrPrefix)
		}
	}
	return nil
}

// Probe checks that every address accepts a TCP connection within
// DialTimeout and that the cluster answers a Metadata request. Its error
// names the address and what to check.
func (c *Client) Probe(ctx context.Context) error {
	var errs []error
	d := net.Dialer{Timeout: DialTimeout}
	for _, a := range c.addrs {
		conn, err := d.DialContext(ctx, "tcp", a)
		if err != nil {
			errs = append(errs, fmt.Errorf("kafka broker %s unreachable (check KAFKA_BROKERS or --brokers, that a broker runs there and that this machine can reach it): %w", a, err))
			continue
		}
		conn.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*DialTimeout)
	defer cancel()
	if _, err := c.kc.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}}); err != nil {
		if x := kafkasec.Explain(err, c.sec); x != err {
			return fmt.Errorf("kafka broker %s: %w", strings.Join(c.addrs, ","), x)
		}
		return fmt.Errorf("kafka broker %s accepts connections but does not answer Metadata (is it a Kafka listener, is its advertised listener reachable from here, and does it want TLS or SASL: KAFKA_TLS, KAFKA_SASL_MECHANISM?): %w", strings.Join(c.addrs, ","), err)
	}
	return nil
}

// CreateTopics creates the named topics with the given number of partitions
// (at least 1) and the cluster's default replication factor (1 on a local
// or embedded broker; an external cluster's own default.replication.factor),
// and waits until each partition answers. A topic that already exists is not an error. Every name must start
// with TopicPrefix.
func (c *Client) CreateTopics(ctx context.Context, partitions int, names ...string) error {
	return c.CreateReplicatedTopics(ctx, partitions, 0, names...)
}

// CreateReplicatedTopics is CreateTopics with replicas copies of each
// partition; 0 means the cluster's default replication factor. A cluster
// with fewer brokers than replicas refuses, and the error says so.
func (c *Client) CreateReplicatedTopics(ctx context.Context, partitions, replicas int, names ...string) error {
	if err := checkNames(names); err != nil {
		return err
	}
	if partitions < 1 {
		return fmt.Errorf("create topics: partitions %d: want at least 1", partitions)
	}
	if replicas < 0 || replicas > 32767 {
		return fmt.Errorf("create topics: replication factor %d: want 0 (the cluster's default) to 32767", replicas)
	}
	rf := replicas
	if rf == 0 {
		rf = -1 // the broker's default.replication.factor
	}
	if len(names) == 0 {
		return nil
	}
	req := &kafka.CreateTopicsRequest{}
	for _, n := range names {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: n, NumPartitions: partitions, ReplicationFactor: rf})
	}
	resp, err := c.kc.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics %s: %w", strings.Join(names, ","), err)
	}
	for n, e := range resp.Errors {
		if errors.Is(e, kafka.InvalidReplicationFactor) {
			return fmt.Errorf("create topic %s with replication factor %d: %w (the cluster has fewer brokers: lower services.kafka.replication_factor in the profile)", n, replicas, e)
		}
		if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", n, e)
		}
	}
	return c.waitLeaders(ctx, names)
}

// waitLeaders waits until every partition of every topic answers
// ListOffsets: right after CreateTopics the metadata may name a leader that
// is not leading yet, and a produce would fail.
func (c *Client) waitLeaders(ctx context.Context, names []string) error {
	for _, n := range names {
		parts, err := c.partitions(ctx, n)
		if err == nil {
			_, err = c.listOffsets(ctx, n, parts)
		}
		if err != nil {
			return fmt.Errorf("topic %s not ready: %w", n, err)
		}
	}
	return nil
}

// DeleteTopics deletes the named topics. A topic that does not exist is not
// an error. Every name must start with TopicPrefix.
func (c *Client) DeleteTopics(ctx context.Context, names ...string) error {
	if err := checkNames(names); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	resp, err := c.kc.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
	if err != nil {
		return fmt.Errorf("delete topics %s: %w", strings.Join(names, ","), err)
	}
	for n, e := range resp.Errors {
		if e != nil && !errors.Is(e, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("delete topic %s: %w", n, e)
		}
	}
	return nil
}

// Lag returns how far group is behind on topic, measured on the broker: per
// partition, the log-end offset (ListOffsets) minus the group's committed
// offset (OffsetFetch). Where the group has committed nothing, or does not
// exist yet, the lag is everything still in the log (log-end minus
// log-start). It costs three requests: Metadata (usually answered from the
// Client's cache), ListOffsets and OffsetFetch. Temporary errors (a leader
// or the group's coordinator not ready yet, a topic not yet in the cached
// metadata) are retried for up to about five seconds.
func (c *Client) Lag(ctx context.Context, group, topic string) (total int64, perPartition map[int]int64, err error) {
	parts, err := c.partitions(ctx, topic)
	if err != nil {
		return 0, nil, fmt.Errorf("lag of %s on %s: metadata: %w", group, topic, err)
	}
	offsets, err := c.listOffsets(ctx, topic, parts)
	if err != nil {
		return 0, nil, fmt.Errorf("lag of %s on %s: list offsets: %w", group, topic, err)
	}
	committed, err := c.offsetFetch(ctx, group, topic, parts)
	if err != nil {
		return 0, nil, fmt.Errorf("lag of %s on %s: offset fetch: %w", group, topic, err)
	}
	perPartition = make(map[int]int64, len(parts))
	for _, p := range offsets {
		from, ok := committed[p.Partition]
		if !ok || from < 0 {
			from = p.FirstOffset
		}
		n := max(p.LastOffset-from, 0)
		perPartition[p.Partition] = n
		total += n
	}
	return total, perPartition, nil
}

// retries bounds how often a request is repeated on a temporary Kafka
// error (leader or coordinator moving or loading), 100 ms apart.
const retries = 50

// retry calls fn until it returns nil or an error that is not a temporary
// Kafka error, at most retries times, while ctx lasts.
func retry[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	for try := 0; ; try++ {
		v, err := fn()
		var ke kafka.Error
		if err == nil || !errors.As(err, &ke) || !ke.Temporary() || try >= retries {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%w (%w)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// listOffsets returns the log-start and log-end offsets of each partition,
// retrying while a partition's leader is not ready (as right after the
// topic was made).
func (c *Client) listOffsets(ctx context.Context, topic string, parts []int) ([]kafka.PartitionOffsets, error) {
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	return retry(ctx, func() ([]kafka.PartitionOffsets, error) {
		lo, err := c.kc.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
		if err != nil {
			return nil, err
		}
		got := lo.Topics[topic]
		for _, p := range got {
			if p.Error != nil {
				return nil, fmt.Errorf("partition %d: %w", p.Partition, p.Error)
			}
		}
		if len(got) != len(parts) {
			return nil, fmt.Errorf("offsets for %d of %d partitions", len(got), len(parts))
		}
		return got, nil
	})
}

// offsetFetch returns the group's committed offsets, retrying while the
// group's coordinator moves or loads (as on a fresh broker, whose
// __consumer_offsets topic is made on first use). A group that does not
// exist has committed nothing: its map is empty.
func (c *Client) offsetFetch(ctx context.Context, group, topic string, parts []int) (map[int]int64, error) {
	return retry(ctx, func() (map[int]int64, error) {
		of, err := c.kc.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err == nil {
			err = of.Error
		}
		if errors.Is(err, kafka.GroupIdNotFound) {
			return map[int]int64{}, nil
		}
		if err != nil {
			return nil, err
		}
		committed := make(map[int]int64, len(parts))
		for _, p := range of.Topics[topic] {
			if errors.Is(p.Error, kafka.GroupIdNotFound) {
				continue
			}
			if p.Error != nil {
				return nil, fmt.Errorf("partition %d: %w", p.Partition, p.Error)
			}
			committed[p.Partition] = p.CommittedOffset
		}
		return committed, nil
	})
}

// partitions returns the partition ids of topic.
func (c *Client) partitions(ctx context.Context, topic string) ([]int, error) {
	return retry(ctx, func() ([]int, error) {
		md, err := c.kc.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			return nil, err
		}
		var parts []int
		for _, t := range md.Topics {
			if t.Name != topic {
				continue
			}
			if t.Error != nil {
				return nil, t.Error
			}
			for _, p := range t.Partitions {
				parts = append(parts, p.ID)
			}
		}
		if len(parts) == 0 {
			return nil, kafka.UnknownTopicOrPartition
		}
		return parts, nil
	})
}

// RoundTrip writes one message to ProbeTopic with acks=all and reads it
// back: the broker is ready for the harness when this works. It creates the
// probe topic (one partition) if needed.
func (c *Client) RoundTrip(ctx context.Context) error {
	if err := c.CreateTopics(ctx, 1, ProbeTopic); err != nil {
		return err
	}
	want := fmt.Sprintf("probe %d", time.Now().UnixNano())
	pr, err := c.kc.Produce(ctx, &kafka.ProduceRequest{
		Topic:        ProbeTopic,
		Partition:    0,
		RequiredAcks: kafka.RequireAll,
		Records:      kafka.NewRecordReader(kafka.Record{Value: kafka.NewBytes([]byte(want))}),
	})
	if err != nil {
		return fmt.Errorf("probe produce: %w", err)
	}
	if pr.Error != nil {
		return fmt.Errorf("probe produce: %w", pr.Error)
	}
	fr, err := c.kc.Fetch(ctx, &kafka.FetchRequest{
		Topic: ProbeTopic, Partition: 0, Offset: pr.BaseOffset,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: time.Second,
	})
	if err != nil {
		return fmt.Errorf("probe fetch: %w", err)
	}
	if fr.Error != nil {
		return fmt.Errorf("probe fetch: %w", fr.Error)
	}
	for {
		r, err := fr.Records.ReadRecord()
		if err != nil {
			return fmt.Errorf("probe fetch: message at offset %d not read back: %w", pr.BaseOffset, err)
		}
		if r.Offset != pr.BaseOffset {
			continue
		}
		var b strings.Builder
		if r.Value != nil {
			buf := make([]byte, r.Value.Len())
			if _, err := r.Value.Read(buf); err != nil && r.Value.Len() > 0 {
				return fmt.Errorf("probe fetch: %w", err)
			}
			b.Write(buf)
		}
		if b.String() != want {
			return fmt.Errorf("probe fetch: read %q at offset %d, want %q", b.String(), r.Offset, want)
		}
		return nil
	}
}

// Probe checks that the cluster at addrs answers, connecting as sec says;
// see Client.Probe.
func Probe(ctx context.Context, addrs []string, sec kafkasec.Config) error {
	return withClient(addrs, sec, func(c *Client) error { return c.Probe(ctx) })
}

// CreateTopics creates topics on the cluster at addrs, connecting as sec
// says; see Client.CreateTopics.
func CreateTopics(ctx context.Context, addrs []string, sec kafkasec.Config, partitions int, names ...string) error {
	if err := checkNames(names); err != nil {
		return err
	}
	return withClient(addrs, sec, func(c *Client) error { return c.CreateTopics(ctx, partitions, names...) })
}

// DeleteTopics deletes topics on the cluster at addrs, connecting as sec
// says; see Client.DeleteTopics.
func DeleteTopics(ctx context.Context, addrs []string, sec kafkasec.Config, names ...string) error {
	if err := checkNames(names); err != nil {
		return err
	}
	return withClient(addrs, sec, func(c *Client) error { return c.DeleteTopics(ctx, names...) })
}

// Lag measures a group's lag once on the cluster at addrs, connecting as
// sec says; see Client.Lag. To sample every second, keep a Client instead.
func Lag(ctx context.Context, addrs []string, sec kafkasec.Config, group, topic string) (total int64, perPartition map[int]int64, err error) {
	err = withClient(addrs, sec, func(c *Client) error {
		total, perPartition, err = c.Lag(ctx, group, topic)
		return err
	})
	return total, perPartition, err
}

func withClient(addrs []string, sec kafkasec.Config, fn func(*Client) error) error {
	c, err := NewClient(addrs, sec)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// SplitAddrs splits a comma-separated list of addresses, dropping blanks.
func SplitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// ParseAddrs splits a comma-separated list of addresses, dropping blanks,
// and checks each is host:port with a host and a port from 1 to 65535. Its
// error names the first bad address and wraps ErrAddr.
func ParseAddrs(s string) ([]string, error) {
	addrs := SplitAddrs(s)
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not host:port", ErrAddr, a)
		}
		if host == "" {
			return nil, fmt.Errorf("%w: %q has no host", ErrAddr, a)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%w: %q: port %q is not a number from 1 to 65535", ErrAddr, a, port)
		}
	}
	return addrs, nil
}
