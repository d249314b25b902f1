package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

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
// and united, histograms decoded. Nothing panics, and accepted ranges
// hold their invariants.
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
		if h, err := s.Histogram(); err == nil {
			_ = h.ValueAtQuantile(99)
		}
		_, _ = s.HopHistograms()
	})
}

// FuzzLedgerInterval decodes GET /v1/ledger/interval and GET
// /v1/hop/interval answers and their histograms.
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
		if json.Unmarshal(b, &li) == nil {
			s := Snapshot{NotifyHist: li.NotifyHist}
			_, _ = s.Histogram()
		}
		var hi HopInterval
		if json.Unmarshal(b, &hi) == nil {
			s := Snapshot{NotifyHist: hi.Hist}
			_, _ = s.Histogram()
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
