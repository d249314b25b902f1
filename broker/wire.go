package broker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// This file speaks the two requests of the Kafka protocol that a listener
// answers before any authentication, written by hand because kafka-go
// speaks ApiVersions only up to v2, which carries no features: ApiVersions
// v3 (the broker's supported and finalized feature levels, among them
// metadata.version, which says its release) and SaslHandshake v1 (whether
// the listener takes SASL, and with which mechanisms).

// Kafka's API keys and error codes used here.
const (
	apiSaslHandshake    = 17
	apiApiVersions      = 18
	errUnsupportedVer   = 35
	errIllegalSASLState = 34
	errUnsupportedMech  = 33
	maxWireResponse     = 1 << 20 // an answer to these two is small
)

// errNotKafka is returned when an answer does not parse as Kafka's: the
// bytes of a TLS alert, an HTTP server, a truncated frame.
var errNotKafka = errors.New("the answer is not a Kafka response")

// apiVersions is what ApiVersions v3 told.
type apiVersions struct {
	apis      int              // how many API keys the broker serves
	supported map[string]int16 // feature → highest level the broker's software supports
	finalized map[string]int16 // feature → the cluster's finalized level
	old       bool             // the broker does not speak v3 (Kafka < 2.4)
}

// wireConn is a connection that sends requests and reads their answers.
type wireConn struct {
	c    net.Conn
	r    *bufio.Reader
	corr int32
}

func newWireConn(c net.Conn) *wireConn { return &wireConn{c: c, r: bufio.NewReader(c)} }

// roundTrip sends a request with the given header version's framing and
// returns the response body (past the correlation id).
func (w *wireConn) roundTrip(key, version int16, flexibleHeader bool, body []byte) ([]byte, error) {
	w.corr++
	var req []byte
	req = binary.BigEndian.AppendUint16(req, uint16(key))
	req = binary.BigEndian.AppendUint16(req, uint16(version))
	req = binary.BigEndian.AppendUint32(req, uint32(w.corr))
	req = appendString(req, "commbench-check")
	if flexibleHeader {
		req = append(req, 0) // no tagged fields
	}
	req = append(req, body...)
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(req)))
	_ = w.c.SetDeadline(time.Now().Add(2 * DialTimeout))
	if _, err := w.c.Write(append(frame, req...)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(w.r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxWireResponse {
		return nil, fmt.Errorf("%w (a frame of %d bytes, starting % x)", errNotKafka, n, size)
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(w.r, resp); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(resp)); got != w.corr {
		return nil, fmt.Errorf("%w (correlation id %d, want %d)", errNotKafka, got, w.corr)
	}
	return resp[4:], nil
}

// apiVersions asks ApiVersions v3.
func (w *wireConn) apiVersions() (*apiVersions, error) {
	var body []byte
	body = appendCompactString(body, "commbench")
	body = appendCompactString(body, "check")
	body = append(body, 0)
	resp, err := w.roundTrip(apiApiVersions, 3, true, body)
	if err != nil {
		return nil, err
	}
	return parseAPIVersions(resp)
}

// parseAPIVersions reads an ApiVersions v3 response body; a broker that
// does not speak v3 answers in v0 with UNSUPPORTED_VERSION.
func parseAPIVersions(b []byte) (*apiVersions, error) {
	d := &decoder{b: b}
	code := d.int16()
	if code == errUnsupportedVer {
		return &apiVersions{old: true}, nil
	}
	if code != 0 {
		return nil, fmt.Errorf("ApiVersions: error code %d", code)
	}
	av := &apiVersions{supported: map[string]int16{}, finalized: map[string]int16{}}
	n := d.uvarint() - 1
	for i := 0; i < int(n) && d.err == nil; i++ {
		d.skip(6) // api key, min, max
		d.tags(nil)
		av.apis++
	}
	d.skip(4) // throttle time
	d.tags(func(tag uint64, f *decoder) {
		switch tag {
		case 0, 2: // SupportedFeatures {name, min, max}, FinalizedFeatures {name, max, min}
			m := av.supported
			if tag == 2 {
				m = av.finalized
			}
			k := f.uvarint() - 1
			for i := 0; i < int(k) && f.err == nil; i++ {
				name := f.compactString()
				a, z := f.int16(), f.int16()
				f.tags(nil)
				if tag == 0 {
					m[name] = z
				} else {
					m[name] = a
				}
			}
		}
	})
	if d.err != nil {
		return nil, fmt.Errorf("ApiVersions v3: %w", d.err)
	}
	return av, nil
}

// saslMechanisms sends SaslHandshake v1 for mechanism and returns the
// mechanisms the listener enables; sasl is false when the listener takes
// no SASL (the broker answers ILLEGAL_SASL_STATE).
func (w *wireConn) saslMechanisms(mechanism string) (mechs []string, sasl bool, err error) {
	resp, err := w.roundTrip(apiSaslHandshake, 1, false, appendString(nil, mechanism))
	if err != nil {
		return nil, false, err
	}
	d := &decoder{b: resp}
	code := d.int16()
	n := int32(d.uint32())
	for i := int32(0); i < n && d.err == nil; i++ {
		mechs = append(mechs, d.string())
	}
	switch {
	case d.err != nil:
		return nil, false, fmt.Errorf("SaslHandshake: %w", d.err)
	case code == errIllegalSASLState:
		return nil, false, nil
	case code != 0 && code != errUnsupportedMech:
		return nil, false, fmt.Errorf("SaslHandshake: error code %d", code)
	}
	return mechs, true, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

func appendCompactString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))+1), s...)
}

// decoder reads Kafka's primitive types; the first short read sets err.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = io.ErrUnexpectedEOF
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) skip(n int) { d.take(n) }

func (d *decoder) int16() int16 {
	if v := d.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := int(d.int16())
	if n < 0 { // a null string
		return ""
	}
	return string(d.take(n))
}

func (d *decoder) compactString() string { return string(d.take(int(d.uvarint()) - 1)) }

// tags reads a tagged-field section, handing each field's bytes to fn.
func (d *decoder) tags(fn func(tag uint64, f *decoder)) {
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		tag, size := d.uvarint(), d.uvarint()
		data := d.take(int(size))
		if fn != nil && d.err == nil {
			f := &decoder{b: data}
			fn(tag, f)
			if f.err != nil {
				d.err = f.err
			}
		}
	}
}
