#!/usr/bin/env python3
"""A librdkafka client (confluent-kafka) for commbench's interop tests.

  rdkafka.py version
  rdkafka.py list CONF [-X key=value ...]         the topics, one a line
  rdkafka.py read CONF TOPIC [-X key=value ...]   every record's value, one a
                                                  line, from the first offset
                                                  to the end of each partition

CONF is librdkafka's key=value file (commbench broker up writes
librdkafka.conf); -X overrides one of its settings. Errors that librdkafka
reports along the way go to stderr as "error: ..." lines; a failure exits 1
with its reason on the last line. Everything is bounded by --timeout
seconds (default 20).
"""
import logging
import re
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient


def load(path, overrides):
    conf = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    for kv in overrides:
        k, v = kv.split("=", 1)
        conf[k] = v
    conf["error_cb"] = lambda err: SEEN.add("error: %s" % untimed(str(err)))
    log = logging.getLogger("librdkafka")
    log.addHandler(Seen())
    log.setLevel(logging.INFO)  # librdkafka says why a connection closed at INFO
    log.propagate = False
    conf["logger"] = log
    return conf


class Seen(logging.Handler):
    """Keeps each distinct line librdkafka logs, without its timings."""

    def emit(self, record):
        SEEN.add(untimed(record.getMessage()))


def untimed(line):
    """line with librdkafka's "(after 12ms in state X)", which differs every retry, as "(in state X)"."""
    return re.sub(r" \(after \d+ms (in state [A-Z_]+)\)", r" (\1)", line)


class Lines:
    """A set of lines that remembers the order they came in."""

    def __init__(self):
        self.lines = {}

    def add(self, line):
        self.lines.setdefault(line, None)

    def dump(self):
        for c in CLIENTS:  # logs and errors are served by poll
            try:
                c.poll(0)
            except Exception:
                pass
        for line in self.lines:
            print("librdkafka:", line, file=sys.stderr)


SEEN = Lines()
CLIENTS = []


def list_topics(conf, timeout):
    a = AdminClient(conf)
    CLIENTS.append(a)
    md = a.list_topics(timeout=timeout)
    for name in sorted(md.topics):
        print(name)


def read(conf, topic, timeout):
    deadline = time.monotonic() + timeout
    conf = dict(conf, **{"group.id": "commbench-interop-rdkafka", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    c = Consumer(conf)
    CLIENTS.append(c)
    try:
        md = c.list_topics(topic, timeout=timeout)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise SystemExit("topic %s: %s" % (topic, t.error if t else "not found"))
        ends = {}
        assign = []
        for p in sorted(t.partitions):
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=max(1, deadline - time.monotonic()))
            if high > low:
                ends[p] = high
                assign.append(TopicPartition(topic, p, low))
        c.assign(assign)
        out = sys.stdout
        while ends:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit("timed out after %ss with partitions %s not read to their end" % (timeout, sorted(ends)))
            m = c.poll(min(1.0, left))
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            out.write((m.value() or b"").decode("utf-8", "replace") + "\n")
            if m.offset() + 1 >= ends.get(m.partition(), 0):
                ends.pop(m.partition(), None)
    finally:
        CLIENTS.remove(c)
        c.close()


def main(argv):
    timeout = 20.0
    if "--timeout" in argv:
        i = argv.index("--timeout")
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    overrides = []
    while "-X" in argv:
        i = argv.index("-X")
        overrides.append(argv[i + 1])
        del argv[i:i + 2]
    if argv[:1] == ["version"]:
        print("confluent-kafka", confluent_kafka.version(), "librdkafka", confluent_kafka.libversion()[0])
        return 0
    if len(argv) == 2 and argv[0] == "list":
        list_topics(load(argv[1], overrides), timeout)
        return 0
    if len(argv) == 3 and argv[0] == "read":
        read(load(argv[1], overrides), argv[2], timeout)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KafkaException as e:
        SEEN.dump()
        print("failed:", e, file=sys.stderr)
        sys.exit(1)
    except SystemExit as e:
        if e.code not in (None, 0):
            SEEN.dump()
        raise
