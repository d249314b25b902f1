package wire

import (
	"bytes"
	"strconv"
)

// Tracing: every reaction carries a W3C trace context (traceparent) from the
// load generator through the reaction service to the notification service,
// in HTTP headers (sync, hybrid's sync try) and in Kafka message headers
// (async, hybrid's fallback). Beside it travel the reaction service's hop
// stamps, so that the notification service can split time-to-notify into
// hops without a tracing backend.
const (
	// HeaderTraceparent is the W3C trace context header; Kafka messages
	// carry it under the same key.
	HeaderTraceparent = "traceparent"
	// HeaderStamps carries the reaction service's stamps on POST /v1/notify:
	// "<t_api_in>,<t_handoff>" in Unix nanoseconds. KafkaStamps is the same
	// value's Kafka header key.
	HeaderStamps = "X-Commbench-Stamps"
	KafkaStamps  = "commbench-stamps"
)

// traceIDPrefix fills the high half of a derived trace id: "commbenc".
const traceIDPrefix = "636f6d6d62656e63"

// AppendTraceparent appends the traceparent of reaction id to b:
// "00-636f6d6d62656e63<id, 16 hex>-<id, 16 hex>-01". The trace id is derived
// from the reaction id, so that a reaction's trace is found from its id
// alone and the same id is the same trace in every process; the parent span
// is the load generator's send. id must not be 0 (W3C forbids all-zero ids).
func AppendTraceparent(b []byte, id uint64) []byte {
	b = append(b, "00-"...)
	b = append(b, traceIDPrefix...)
	b = appendHex16(b, id)
	b = append(b, '-')
	b = appendHex16(b, id)
	return append(b, "-01"...)
}

// Traceparent returns AppendTraceparent's value as a string.
func Traceparent(id uint64) string { return string(AppendTraceparent(make([]byte, 0, 55), id)) }

// ValidTraceparent reports whether v looks like a version-00 traceparent:
// 55 bytes, "00-" 32 hex "-" 16 hex "-" 2 hex. A service forwards a valid
// one as it came and derives one from the reaction id otherwise.
func ValidTraceparent(v []byte) bool {
	if len(v) != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || v[0] != '0' || v[1] != '0' {
		return false
	}
	for i, c := range v {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func appendHex16(b []byte, v uint64) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[(v>>uint(shift))&0xf])
	}
	return b
}

// AppendStamps appends the stamps header value "<apiIn>,<handoff>".
func AppendStamps(b []byte, apiIn, handoff int64) []byte {
	b = strconv.AppendInt(b, apiIn, 10)
	b = append(b, ',')
	return strconv.AppendInt(b, handoff, 10)
}

// ParseStamps parses a stamps header value; ok is false when v is missing
// or malformed (the delivery is then counted as untraced, not guessed).
func ParseStamps(v []byte) (apiIn, handoff int64, ok bool) {
	i := bytes.IndexByte(v, ',')
	if i < 0 {
		return 0, 0, false
	}
	a, err1 := strconv.ParseInt(string(v[:i]), 10, 64)
	h, err2 := strconv.ParseInt(string(v[i+1:]), 10, 64)
	if err1 != nil || err2 != nil || a <= 0 || h <= 0 {
		return 0, 0, false
	}
	return a, h, true
}
