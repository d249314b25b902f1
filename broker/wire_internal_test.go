package broker

import (
	"encoding/binary"
	"strings"
	"testing"
)

// An ApiVersions v3 body with one API key and metadata.version as both a
// supported (min 1, max 30) and a finalized (max 27, min 27) feature.
func TestParseAPIVersions(t *testing.T) {
	var b []byte
	b = binary.BigEndian.AppendUint16(b, 0) // error code
	b = append(b, 2)                        // one API key
	b = append(b, 0, 18, 0, 0, 0, 4, 0)     // ApiVersions 0..4, no tags
	b = append(b, 0, 0, 0, 0)               // throttle time
	feature := func(a, z int16) []byte {
		f := []byte{2} // one feature
		f = appendCompactString(f, "metadata.version")
		f = binary.BigEndian.AppendUint16(f, uint16(a))
		f = binary.BigEndian.AppendUint16(f, uint16(z))
		return append(f, 0)
	}
	sup, fin := feature(1, 30), feature(27, 27)
	b = append(b, 2, 0, byte(len(sup)))
	b = append(b, sup...)
	b = append(b, 2, byte(len(fin)))
	b = append(b, fin...)
	av, err := parseAPIVersions(b)
	if err != nil {
		t.Fatal(err)
	}
	if av.apis != 1 || av.supported["metadata.version"] != 30 || av.finalized["metadata.version"] != 27 {
		t.Errorf("got %d APIs, supported %v, finalized %v; want 1, 30, 27", av.apis, av.supported, av.finalized)
	}
	if got, want := describeVersion(av), "Apache Kafka 4.3 (metadata.version supported up to level 30, finalized 27)"; got != want {
		t.Errorf("describeVersion = %q, want %q", got, want)
	}
	if _, err := parseAPIVersions(b[:len(b)-3]); err == nil {
		t.Error("a truncated body parsed")
	}
}

func TestReleaseOf(t *testing.T) {
	for _, tc := range []struct {
		level int16
		want  string
	}{
		{7, "3.3"}, {21, "3.9"}, {22, "4.0"}, // 4.0-IV0 belongs to 4.0
		{25, "4.0"}, {28, "4.2"}, {30, "4.3"}, {31, ""},
	} {
		if got := releaseOf(tc.level); got != tc.want {
			t.Errorf("releaseOf(%d) = %q, want %q", tc.level, got, tc.want)
		}
	}
	if got := describeVersion(&apiVersions{supported: map[string]int16{"metadata.version": 99}}); !strings.Contains(got, "newer than 4.3") {
		t.Errorf("describeVersion of level 99 = %q", got)
	}
}
