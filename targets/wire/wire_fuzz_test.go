package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
)

// jsonError reports whether err is encoding/json's own: a syntax error
// or a value of the wrong type. idRanges also allows the errors of
// Ranges' UnmarshalJSON, which name the id range.
func jsonError(err error, idRanges bool) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || idRanges && strings.HasPrefix(err.Error(), "id range")
}

// histError checks an error of Histogram or HopHistograms: it wraps
// hdrcodec.ErrEncoding and names the field, prefix.
func histError(t *testing.T, err error, prefix string) {
	t.Helper()
	if err != nil && (!errors.Is(err, hdrcodec.ErrEncoding) || !strings.HasPrefix(err.Error(), prefix)) {
		t.Fatalf("histogram error %q: want one wrapping hdrcodec.ErrEncoding that starts %q", err, prefix)
	}
}

// FuzzDecode feeds reaction bodies to Decode, the parser of every POST
// /v1/reactions and /v1/notify and of every Kafka message: an error is a
// *FieldError or wraps ErrMalformed, and what it accepts is valid and
// survives Append and Decode again unchanged.
func FuzzDecode(f *testing.F) {
	good := Reaction{ID: 42, User: "u1", Post: "p1", Author: "a1", Kind: "like", SentAt: 1_767_225_600_000_000_000}
	f.Add(good.Append(nil))
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"id":-1}`, `{"id":18446744073709551616}`, `{"id":1.5}`,
		`{"id":1,"user":"","post":"p","author":"a","kind":"k","sent_at":1}`,
		`{"id":1,"user":"u\u0000","post":"p","author":"a","kind":"k","sent_at":1,"extra":[[[[]]]]}`,
		`{"id":1,"user":{"x":1}}`, strings.Repeat(`{"a":`, 10000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Reaction
		err := Decode(body, &r)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is neither a FieldError nor ErrMalformed", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("Decode accepted an invalid reaction: %v", err)
		}
		var again Reaction
		if err := Decode(r.Append(nil), &again); err != nil || again != r {
			t.Fatalf("Append then Decode: %+v, %v; want %+v", again, err, r)
		}
	})
}

// FuzzSnapshot decodes a ledger snapshot, as the harness reads GET
// /v1/ledger, and uses it as the harness does: ranges counted, subtracted
// and united, histograms decoded. A refused snapshot is a JSON error or
// names the id range; accepted ranges hold their invariants; a histogram
// that does not decode is an encoding error naming its field.
func FuzzSnapshot(f *testing.F) {
	h := hdrhistogram.New(LowestMicros, HighestMicros, Digits)
	for v := int64(1); v < 1e9; v = v*5 + 3 {
		_ = h.RecordValue(v)
	}
	enc, _ := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	good := Snapshot{Counts: Counts{Delivered: 6, Duplicates: 1}, DeliveredIDs: Ranges{{1, 3}, {7, 9}},
		DeadLetteredIDs: Ranges{{4, 4}}, NotifyHist: string(enc), HopHists: map[string]string{"api": string(enc), "queue": ""}}
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"delivered_ids":[[5,1]],"notify_hist":"HISTFAAAAB542pNpmSzMwMBgAAAIsgGh"}`))
	f.Add([]byte(`{"delivered_ids":[[1,10],[5,20]],"dead_lettered_ids":[[0,18446744073709551615]]}`))
	f.Add([]byte(`{"delivered_ids":[[1,2],[3,4]],"hop_hists":{"api":"!!"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			if !jsonError(err, true) {
				t.Fatalf("error %v: want a JSON error or one naming the id range", err)
			}
			return
		}
		for _, rs := range []Ranges{s.DeliveredIDs, s.DeadLetteredIDs} {
			for i, r := range rs {
				if r.Lo > r.Hi || i > 0 && r.Lo <= rs[i-1].Hi {
					t.Fatalf("accepted ranges %v", rs)
				}
			}
			if len(rs) > 0 && rs.Count() < uint64(len(rs)) {
				t.Fatalf("Count() = %d for %d ranges: wrapped", rs.Count(), len(rs))
			}
		}
		lost := s.DeliveredIDs.Minus(s.DeadLetteredIDs)
		all := s.DeliveredIDs.Union(s.DeadLetteredIDs)
		if lost.Count() > s.DeliveredIDs.Count() || all.Count() < s.DeliveredIDs.Count() {
			t.Fatalf("Minus %d, Union %d, of %d", lost.Count(), all.Count(), s.DeliveredIDs.Count())
		}
		h, err := s.Histogram()
		histError(t, err, "notify_hist: ")
		if err == nil {
			_ = h.ValueAtQuantile(99)
		}
		_, err = s.HopHistograms()
		histError(t, err, "hop_hists.")
	})
}

// FuzzLedgerInterval decodes GET /v1/ledger/interval and GET
// /v1/hop/interval answers and their histograms: a refused answer is a
// JSON error, a histogram that does not decode an encoding error naming
// its field, and one that decodes can be read.
func FuzzLedgerInterval(f *testing.F) {
	h := hdrhistogram.New(LowestMicros, HighestMicros, Digits)
	_ = h.RecordValue(1500)
	enc, _ := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	b, _ := json.Marshal(LedgerInterval{Counts: Counts{Delivered: 1}, NotifyHist: string(enc)})
	f.Add(b)
	b, _ = json.Marshal(HopInterval{Calls: 3, Errors: 1, Breaker: "open", Hist: string(enc)})
	f.Add(b)
	f.Add([]byte(`{"delivered":-1,"notify_hist":"HISTFAAAACh42pNpmSzMwMDAxQABzFCaEUzOmTVj1gQmKQAsfQLX"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var li LedgerInterval
		var hi HopInterval
		for _, x := range []struct {
			v    any
			hist *string
		}{{&li, &li.NotifyHist}, {&hi, &hi.Hist}} {
			if err := json.Unmarshal(b, x.v); err != nil {
				if !jsonError(err, false) {
					t.Fatalf("%T: error %v is not a JSON error", x.v, err)
				}
				continue
			}
			s := Snapshot{NotifyHist: *x.hist}
			h, err := s.Histogram()
			histError(t, err, "notify_hist: ")
			if err == nil {
				_ = h.ValueAtQuantile(99)
			}
		}
	})
}

// FuzzHeaders parses the trace headers a service receives: traceparent
// and the hop stamps.
func FuzzHeaders(f *testing.F) {
	f.Add([]byte(Traceparent(42)))
	f.Add(AppendStamps(nil, 1_767_225_600_000_000_000, 1_767_225_600_000_100_000))
	f.Add([]byte("-1,9223372036854775808"))
	f.Fuzz(func(t *testing.T, v []byte) {
		if ValidTraceparent(v) && len(v) != 55 {
			t.Fatalf("ValidTraceparent(%q) with %d bytes", v, len(v))
		}
		if a, h, ok := ParseStamps(v); ok && (a <= 0 || h <= 0) {
			t.Fatalf("ParseStamps(%q) = %d, %d, true", v, a, h)
		}
	})
}
