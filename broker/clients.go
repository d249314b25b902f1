package broker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/commbench/commbench/broker/kafkasec"
)

// The files a secured local broker writes into its data folder for the
// clients of other stacks, besides CAFile and ClientEnvFile. Those holding
// a password are 0600.
const (
	// ClientPropertiesFile is the Java client's configuration: Kafka's
	// own tools take it as --command-config (or --consumer.config).
	ClientPropertiesFile = "client.properties"
	// TruststoreFile is CAFile as a PKCS12 truststore, which
	// ClientPropertiesFile names with its password.
	TruststoreFile = "truststore.p12"
	// LibrdkafkaFile is librdkafka's configuration, key=value lines: kcat
	// -F reads it, and confluent-kafka takes its pairs as its config dict.
	LibrdkafkaFile = "librdkafka.conf"
)

// LibrdkafkaNote is what a SASL_SSL broker's users of librdkafka must know.
const LibrdkafkaNote = "SASL_SSL needs librdkafka >= 2.6.1 (kcat, confluent-kafka and other bindings): older ones (Debian's kcat 1.7.1 has 2.0.2) repeat the client nonce in SCRAM's client-final message, and Kafka 4.x refuses the login as \"invalid credentials\" (fixed in librdkafka PR 4895, 2.6.1)"

// writeClientFiles writes ClientEnvFile, ClientPropertiesFile,
// TruststoreFile and LibrdkafkaFile into dir for a client of the broker at
// addr secured as s says. The truststore is made by keytool, beside java.
func writeClientFiles(ctx context.Context, dir, addr, java string, s *secured) error {
	env := append([]string{"KAFKA_BROKERS=" + addr}, s.clientEnv...)
	if err := os.WriteFile(filepath.Join(dir, ClientEnvFile), []byte(strings.Join(env, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	storePass := password()
	if err := truststore(ctx, java, s.caFile, filepath.Join(dir, TruststoreFile), storePass); err != nil {
		return err
	}
	name := s.protocol.listenerName()
	var jp, rk strings.Builder
	fmt.Fprintf(&jp, "# Written by commbench broker up: the Java client's settings (Kafka's tools: --command-config).\nbootstrap.servers=%s\nsecurity.protocol=%s\n", addr, name)
	fmt.Fprintf(&jp, "ssl.truststore.type=PKCS12\nssl.truststore.location=%s\nssl.truststore.password=%s\n", filepath.Join(dir, TruststoreFile), storePass)
	fmt.Fprintf(&rk, "# Written by commbench broker up: librdkafka's settings (kcat -F, confluent-kafka).\nbootstrap.servers=%s\nsecurity.protocol=%s\nssl.ca.location=%s\n", addr, name, s.caFile)
	if s.protocol == SASLSSL {
		fmt.Fprintf(&jp, "sasl.mechanism=%s\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"%s\" password=\"%s\";\n",
			kafkasec.ScramSHA512, ClientUser, s.clientPassword)
		fmt.Fprintf(&rk, "# %s\nsasl.mechanisms=%s\nsasl.username=%s\nsasl.password=%s\n", LibrdkafkaNote, kafkasec.ScramSHA512, ClientUser, s.clientPassword)
	}
	if err := os.WriteFile(filepath.Join(dir, ClientPropertiesFile), []byte(jp.String()), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, LibrdkafkaFile), []byte(rk.String()), 0o600)
}

// truststore imports the PEM certificate ca into a new PKCS12 store at
// path, with keytool from java's folder (else PATH).
func truststore(ctx context.Context, java, ca, path, pass string) error {
	keytool := filepath.Join(filepath.Dir(java), "keytool")
	if !isExec(keytool) {
		var err error
		if keytool, err = exec.LookPath("keytool"); err != nil {
			return fmt.Errorf("the Java client's truststore: no keytool beside %s or on PATH", java)
		}
	}
	os.Remove(path)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, keytool, "-importcert", "-noprompt", "-alias", "commbench-ca", "-file", ca,
		"-keystore", path, "-storetype", "PKCS12", "-storepass", pass)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("keytool -importcert %s into %s: %w\n%s", ca, path, err, lastLines(out.String(), 10))
	}
	return os.Chmod(path, 0o600)
}

// ClientUsage returns one line per kind of client saying how it connects
// to a local broker: Kafka's Java tools, kcat, confluent-kafka, kafka-go
// and commbench; with SASL_SSL a last line says which librdkafka works.
// Nil for other kinds.
func (b *Broker) ClientUsage() []string {
	if b.Kind != Local || len(b.Addrs) == 0 {
		return nil
	}
	addr := strings.Join(b.Addrs, ",")
	cp := "'" + filepath.Join(b.Jars, "libs", "*") + "'"
	topics := "java -cp " + cp + " org.apache.kafka.tools.TopicCommand --bootstrap-server " + addr
	var out []string
	if b.Protocol == "" || b.Protocol == Plaintext {
		return []string{
			"java tools: " + topics + " --list",
			"kcat: kcat -b " + addr + " -L",
			"confluent-kafka: python3 -c 'from confluent_kafka.admin import AdminClient; print(sorted(AdminClient({\"bootstrap.servers\": \"" + addr + "\"}).list_topics(timeout=10).topics))'",
			"kafka-go, commbench: export KAFKA_BROKERS=" + addr,
		}
	}
	f := func(name string) string { return filepath.Join(b.DataDir, name) }
	out = append(out,
		"java tools: "+topics+" --command-config "+f(ClientPropertiesFile)+" --list  (Kafka's bin/*.sh take the same file: --command-config, --consumer.config)",
		"kcat: kcat -F "+f(LibrdkafkaFile)+" -L",
		"confluent-kafka: python3 -c 'from confluent_kafka.admin import AdminClient; conf = dict(l.strip().split(\"=\", 1) for l in open(\""+f(LibrdkafkaFile)+"\") if \"=\" in l and not l.startswith(\"#\")); print(sorted(AdminClient(conf).list_topics(timeout=10).topics))'",
		"kafka-go, commbench: set -a; . "+f(ClientEnvFile)+"; set +a  (the KAFKA_* lines below)",
	)
	if b.Protocol == SASLSSL {
		out = append(out, "librdkafka: "+LibrdkafkaNote)
	}
	return out
}
