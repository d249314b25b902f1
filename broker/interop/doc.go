// Package interop proves that clients commbench does not ship can use its
// secured local Kafka: Kafka's own Java tools, librdkafka (the
// confluent-kafka wheel) and Debian's kcat list the topics and read them
// over SSL and SASL_SSL, each is refused with the error that names what was
// wrong, and after an async run the Java consumer and librdkafka count the
// run's topic as the run counted its accepted reactions.
//
// The package is its tests. They need Java 17+ and the Kafka jars, and the
// clients that ./bench.sh setup installs: confluent-kafka into
// .cache/python (COMMBENCH_PYTHONPATH) and kcat. A missing client skips
// its tests, unless COMMBENCH_INTEROP=require (./bench.sh test sets it),
// where it fails them.
package interop
