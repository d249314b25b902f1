// ProducerProbe — Kafka's own Java producer, paced open-loop like
// commbench's generator, with sub-millisecond percentiles: the reference the
// async pattern's API latency is compared with (issue #13). Kafka's
// ProducerPerformance prints its percentiles in whole milliseconds ("0 ms
// 50th"), too coarse to decide "p50 within 0.5 ms of Kafka's".
//
// Run it with the JDK's source launcher (Java 11+) and the Kafka jars that
// `commbench broker fetch` caches:
//
//   java -cp "$jars/libs/*" scripts/ProducerProbe.java --bootstrap 127.0.0.1:9092 \
//     --topic commbench-probe --rate 400 --seconds 20 --size 100 --acks all
//
// Flags: --bootstrap HOST:PORT (required), --topic T (required; it must exist,
// create it first: a topic auto-created by the lookup would have the broker's
// default partition count), --rate per second (default 400), --seconds
// measured (default 20), --warmup seconds sent at the same rate before them and
// left out of the statistics like a profile's warmup (default 5), --size value
// bytes (default 100), --acks all|1|0 (default all), --keys N rotating keys
// (default 1000, 0 for null keys).
//
// What it matches of commbench's producer (targets/kafkagroup/producer.go,
// used by targets/reaction/async.go):
//  - acks=all and no linger (linger.ms=0): a record goes out as soon as the
//    sender thread is free, batched only with what arrived meanwhile, like
//    kafkagroup.Producer's group commit;
//  - not idempotent (enable.idempotence=false): kafka-go has no idempotent
//    producer, so commbench's retried request can be written twice too;
//  - keyed: the reaction service keys each message by its author, and the
//    generator rotates 1000 authors ("a0".."a999", reaction i has author
//    i % 1000); here record i has key "a" + (i % keys). Java partitions keys
//    with murmur2 and kafka-go's kafka.Hash with FNV-1a, so the same key may
//    land on another partition, but both spread 1000 keys over the partitions;
//  - no compression.
// What it does not: commbench's value is the encoded reaction with two
// headers (trace context, stamps); this one sends --size random bytes and no
// headers. The Java client keeps up to 5 requests in flight per broker
// connection (max.in.flight.requests.per.connection, its default), each
// holding the ready batches of every partition on that broker;
// kafkagroup.Producer keeps one request in flight per partition.
//
// Output: one line a script parses, then one for people, e.g.
//   probe: n=8000 p50_us=812 p90_us=1104 p99_us=2210 p999_us=4100 max_us=5230 mean_us=850 late_sends=0 errors=0
// Exit status: 0 when every measured record was acknowledged; 1 when some
// failed (the line is printed, errors=N says how many); 2 for bad flags; 3
// when the broker is unreachable or the topic missing (no line).

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class ProducerProbe {
    static final long MAX_RECORDS = 10_000_000L; // the latency array: 80 MB at most
    static final long LATE_NS = 1_000_000L;      // a send more than 1 ms late is "late", as commbench's validity counts

    public static void main(String[] argv) {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String k = argv[i];
            if (!k.startsWith("--") || i + 1 >= argv.length) {
                usage("expected --flag value pairs, got " + k);
            }
            a.put(k.substring(2), argv[++i]);
        }
        for (String k : a.keySet()) {
            if (!List.of("bootstrap", "topic", "rate", "seconds", "warmup", "size", "acks", "keys").contains(k)) {
                usage("unknown flag --" + k);
            }
        }
        String bootstrap = a.get("bootstrap"), topic = a.get("topic");
        if (bootstrap == null || bootstrap.isEmpty() || topic == null || topic.isEmpty()) {
            usage("--bootstrap and --topic are required");
        }
        double rate = num(a, "rate", 400);
        double seconds = num(a, "seconds", 20);
        double warmup = num(a, "warmup", 5);
        double sizeD = num(a, "size", 100);
        double keysD = num(a, "keys", 1000);
        String acks = a.getOrDefault("acks", "all");
        if (!(rate > 0) || rate > 100_000) usage("--rate must be above 0 and at most 100000 per second");
        if (!(seconds > 0) || seconds > 600) usage("--seconds must be above 0 and at most 600");
        if (!(warmup >= 0) || warmup > 600) usage("--warmup must be 0 to 600 seconds");
        if (!(sizeD >= 0) || sizeD > 1_000_000 || sizeD != Math.floor(sizeD)) usage("--size must be a whole number of bytes, 0 to 1000000");
        if (!(keysD >= 0) || keysD > 1_000_000 || keysD != Math.floor(keysD)) usage("--keys must be a whole number, 0 to 1000000");
        if (!List.of("all", "-1", "1", "0").contains(acks)) usage("--acks must be all, 1 or 0");
        long measured = Math.round(rate * seconds), skipped = Math.round(rate * warmup);
        if (measured < 1) usage("--rate × --seconds is under one record");
        if (measured > MAX_RECORDS || skipped > MAX_RECORDS) usage("--rate × --seconds (or --warmup) is over " + MAX_RECORDS + " records");
        int size = (int) sizeD, keys = (int) keysD;

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, acks);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        // Bounded: a send blocks at most 10 s for metadata or buffer space,
        // a request waits 10 s for its answer, a record is failed after 30 s.
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "commbench-probe");

        byte[] value = new byte[size];
        new Random(13).nextBytes(value); // one array for every record: send() copies it into its batch
        byte[][] keyBytes = new byte[keys][];
        for (int i = 0; i < keys; i++) keyBytes[i] = ("a" + i).getBytes(StandardCharsets.UTF_8);

        long[] lat = new long[(int) measured];    // ns from the intended send time to the ack, by record
        Arrays.fill(lat, -2);                      // -2 unanswered, -1 failed: neither counts as a latency
        AtomicInteger acked = new AtomicInteger(); // measured records answered (acked or failed)
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger warmErrors = new AtomicInteger();
        AtomicReference<Exception> firstErr = new AtomicReference<>();
        long total = skipped + measured;
        long late = 0, maxLagNs = 0;

        KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        try {
            List<PartitionInfo> parts;
            try {
                parts = prod.partitionsFor(topic); // connects: fails within max.block.ms when nothing answers
            } catch (Exception e) {
                System.err.println("probe: cannot reach the broker at " + bootstrap + " or read topic " + topic + ": " + e);
                prod.close(Duration.ofSeconds(2));
                System.exit(3);
                return;
            }
            System.err.printf("probe: %s on %s, %d partitions; %.0f/s for %.0f s after %.0f s of warm-up, acks=%s, %d B, %s%n",
                    topic, bootstrap, parts.size(), rate, seconds, warmup, acks, size,
                    keys == 0 ? "null keys" : keys + " rotating keys");

            // Open loop: record i's intended send time is start + i/rate,
            // whatever happened to the records before it. One thread sleeps
            // until that time and sends; its latency is the callback's time
            // minus the INTENDED time, not the actual send's, so a send that
            // leaves late (the thread overslept, send() blocked, the JVM
            // paused) counts against the producer — the correction
            // commbench's generator applies to its own latencies
            // (coordinated omission).
            final long start = System.nanoTime() + 50_000_000L;
            for (long i = 0; i < total; i++) {
                final long intended = start + (long) (i * 1e9 / rate);
                long d;
                while ((d = intended - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(d);
                }
                final boolean counted = i >= skipped;
                final int idx = (int) (i - skipped);
                if (counted) {
                    long lag = System.nanoTime() - intended;
                    if (lag > LATE_NS) late++;
                    if (lag > maxLagNs) maxLagNs = lag;
                }
                byte[] key = keys == 0 ? null : keyBytes[(int) (i % keys)];
                try {
                    prod.send(new ProducerRecord<>(topic, key, value), (md, e) -> {
                        long now = System.nanoTime();
                        if (e != null) {
                            firstErr.compareAndSet(null, e);
                            (counted ? errors : warmErrors).incrementAndGet();
                        }
                        if (counted) {
                            lat[idx] = e == null ? now - intended : -1;
                            acked.incrementAndGet(); // publishes lat[idx] to the reader below
                        }
                    });
                } catch (RuntimeException e) { // thrown, not given to the callback: the record is not sent
                    firstErr.compareAndSet(null, e);
                    (counted ? errors : warmErrors).incrementAndGet();
                    if (counted) {
                        lat[idx] = -1;
                        acked.incrementAndGet();
                    }
                }
            }
            prod.flush(); // every record acked or failed: bounded by delivery.timeout.ms
        } finally {
            prod.close(Duration.ofSeconds(10));
        }

        int answered = acked.get();
        long[] ok = Arrays.stream(lat, 0, (int) measured).filter(v -> v >= 0).toArray();
        if (answered < measured) { // flush returned early (it should not): the unanswered are errors
            errors.addAndGet((int) (measured - answered));
        }
        Arrays.sort(ok);
        int n = ok.length;
        if (n == 0) {
            System.out.printf("probe: n=0 late_sends=%d errors=%d%n", late, errors.get());
            System.err.println("probe: no record acknowledged; first error: " + firstErr.get());
            System.exit(1);
        }
        double mean = Arrays.stream(ok).average().orElse(0);
        System.out.printf("probe: n=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%d late_sends=%d errors=%d%n",
                n, us(pct(ok, 50)), us(pct(ok, 90)), us(pct(ok, 99)), us(pct(ok, 99.9)), us(ok[n - 1]),
                Math.round(mean / 1000), late, errors.get());
        System.out.printf("Kafka's Java producer, acks=%s, %d B, linger.ms=0, %.0f/s for %.0f s (from the intended send): "
                        + "p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms; "
                        + "%d of %d sends over 1 ms late (worst %.3f ms), %d failed (%d in the warm-up)%n",
                acks, size, rate, seconds, pct(ok, 50) / 1e6, pct(ok, 90) / 1e6, pct(ok, 99) / 1e6,
                pct(ok, 99.9) / 1e6, ok[n - 1] / 1e6, late, measured, maxLagNs / 1e6, errors.get(), warmErrors.get());
        if (errors.get() > 0) {
            System.err.println("probe: first error: " + firstErr.get());
            System.exit(1);
        }
    }

    // pct is the q-th percentile by nearest rank of the sorted s.
    static long pct(long[] s, double q) {
        int rank = (int) Math.ceil(q / 100 * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }

    static long us(long ns) {
        return Math.round(ns / 1000.0);
    }

    static double num(Map<String, String> a, String k, double def) {
        String v = a.get(k);
        if (v == null) return def;
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            usage("--" + k + " is not a number: " + v);
            return def;
        }
    }

    static void usage(String why) {
        System.err.println("probe: " + why);
        System.err.println("usage: java -cp \"$jars/libs/*\" scripts/ProducerProbe.java --bootstrap HOST:PORT --topic T "
                + "[--rate 400] [--seconds 20] [--warmup 5] [--size 100] [--acks all] [--keys 1000]");
        System.exit(2);
    }
}
