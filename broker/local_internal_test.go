package broker

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestJavaMajor(t *testing.T) {
	for _, tc := range []struct {
		have string
		want int
	}{
		{`openjdk version "17.0.15" 2025-04-15`, 17},                            // Debian's OpenJDK
		{`openjdk version "25" 2025-09-16 LTS`, 25},                             // Temurin, no minor
		{`java version "1.8.0_392"`, 8},                                         // old scheme: 1.x
		{`openjdk version "21-ea" 2023-09-19`, 21},                              // early access
		{"Picked up JAVA_TOOL_OPTIONS: -Xss1m\nopenjdk version \"11.0.2\"", 11}, // noise first
	} {
		got, err := javaMajor(tc.have)
		if err != nil || got != tc.want {
			t.Errorf("javaMajor(%q) = %d, %v; want %d", tc.have, got, err, tc.want)
		}
	}
	if _, err := javaMajor("command not found"); err == nil {
		t.Error("javaMajor(garbage): no error")
	}
}

func TestPomVersion(t *testing.T) {
	if !strings.HasPrefix(KafkaVersion, "4.") {
		t.Errorf("KafkaVersion = %q, want 4.x", KafkaVersion)
	}
}

func TestProcState(t *testing.T) {
	for _, tc := range []struct {
		have string
		want byte
	}{
		{"123 (java) S 1 123 123 0", 'S'},
		{"124 (a) b) Z 1 124", 'Z'}, // a name with ") " in it
		{"garbage", 0},
	} {
		if got := procState([]byte(tc.have)); got != tc.want {
			t.Errorf("procState(%q) = %q, want %q", tc.have, got, tc.want)
		}
	}
}

func TestClusterID(t *testing.T) {
	id := clusterID()
	if len(id) != 22 || strings.HasPrefix(id, "-") {
		t.Errorf("clusterID() = %q, want 22 characters not starting with '-'", id)
	}
}

func TestServerProperties(t *testing.T) {
	p := serverProperties(9092, 9093, 8, "/data/kraft")
	for _, want := range []string{
		"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n",
		"num.partitions=8\n",
		"group.initial.rebalance.delay.ms=0\n",
		"offsets.topic.replication.factor=1\n",
		"log.dirs=/data/kraft\n",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("server.properties lacks %q", want)
		}
	}
}

// auto falls back to embedded, saying why, when there is no Java.
func TestChooseWithoutJava(t *testing.T) {
	t.Setenv("JAVA_HOME", "")
	t.Setenv("PATH", t.TempDir())
	k, why, err := choose(Options{Kind: Auto, CacheDir: t.TempDir()})
	if err != nil || k != Embedded || !strings.Contains(why, "Java") || !strings.Contains(why, EmbeddedLabel) {
		t.Errorf("choose(auto, no java) = %q, %q, %v; want embedded with a warning naming Java", k, why, err)
	}
	k, _, err = choose(Options{Kind: Auto, Brokers: []string{"127.0.0.1:9092"}})
	if err != nil || k != External {
		t.Errorf("choose(auto, brokers) = %q, %v; want external", k, err)
	}
}

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		have string
		ok   bool
	}{
		{"", true},           // the default
		{KafkaVersion, true}, // the pom's
		{"4.0.0", true},
		{"5.1.2", true},   // a later major: tried, Maven says if it exists
		{"3.9.1", false},  // its KRaft configuration is not 4.x's
		{"4.1", false},    // not a release number
		{"latest", false}, // nor a word
		{"4.1.0-rc1", false},
	} {
		err := CheckVersion(tc.have)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrVersion)) {
			t.Errorf("CheckVersion(%q) = %v, want ok %v", tc.have, err, tc.ok)
		}
	}
}

// Another version gets its own pom, folder and completion hash; the
// default's are what they were.
func TestVersionPom(t *testing.T) {
	p := string(versionPom("4.1.1"))
	if pomVersion([]byte(p)) != "4.1.1" || strings.Count(p, "<kafka.version>") != 1 {
		t.Errorf("versionPom(4.1.1) sets kafka.version to %q", pomVersion([]byte(p)))
	}
	if string(versionPom("")) != string(pom) || pomHash("") != pomHash(KafkaVersion) || pomHash("4.1.1") == pomHash("") {
		t.Error("the default version's pom or hash changed, or another version's equals it")
	}
	if got, want := VersionJarDir("/c", "4.1.1"), "/c/kafka-4.1.1"; got != want {
		t.Errorf("VersionJarDir = %q, want %q", got, want)
	}
	if JarDir("/c") != VersionJarDir("/c", KafkaVersion) {
		t.Error("JarDir is not the default version's folder")
	}
}

// A version Maven Central does not serve is refused, naming it. It asks
// Maven Central (a few seconds), so not under -short.
func TestResolveNotServed(t *testing.T) {
	if testing.Short() {
		t.Skip("asks Maven Central")
	}
	if _, err := exec.LookPath("mvn"); err != nil {
		t.Skip("no Maven")
	}
	_, err := ResolveVersion(t.Context(), t.TempDir(), "4.99.0", func(string, ...any) {})
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "Apache Kafka 4.99.0 is not served by Maven Central") {
		t.Errorf("ResolveVersion(4.99.0) = %v, want it not served", err)
	}
}
