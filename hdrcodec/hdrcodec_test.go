package hdrcodec

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func encode(t testing.TB, h *hdrhistogram.Histogram) []byte {
	t.Helper()
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forge encodes a V2 histogram header declaring the given geometry, with
// an empty payload: what a hostile file can say in a few bytes.
func forge(lowest, highest int64, digits int32) []byte {
	var inner bytes.Buffer
	for _, v := range []any{int32(plainCookie | 0x10), int32(0), int32(0), digits, lowest, highest, float64(1)} {
		_ = binary.Write(&inner, binary.BigEndian, v)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(inner.Bytes())
	_ = zw.Close()
	var outer bytes.Buffer
	_ = binary.Write(&outer, binary.BigEndian, int32(compressedCookie|0x10))
	_ = binary.Write(&outer, binary.BigEndian, int32(z.Len()))
	outer.Write(z.Bytes())
	return []byte(base64.StdEncoding.EncodeToString(outer.Bytes()))
}

func TestDecode(t *testing.T) {
	h := hdrhistogram.New(1, 3600*1000*1000, 3)
	for v := int64(1); v < 1e9; v *= 3 {
		_ = h.RecordValue(v)
	}
	got, err := Decode(encode(t, h))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equals(h) {
		t.Error("decoded histogram differs from the encoded one")
	}
	tests := []struct {
		name, enc, want string
	}{
		{"empty", "", "shorter than the 8-byte header"},
		{"not base64", "!!!", "not base64"},
		{"wrong cookie", base64.StdEncoding.EncodeToString(make([]byte, 16)), "cookie"},
		{"huge geometry", string(forge(1, 1<<62, 5)), "more than the 1048576"},
		{"digits out of range", string(forge(1, 1000, 9)), "significant digits"},
		{"degenerate range", string(forge(100, 150, 3)), "below twice the lowest"},
		{"too long", strings.Repeat("A", MaxEncoded+4), "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.enc))
			if err == nil || !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an ErrEncoding saying %q", err, tt.want)
			}
		})
	}
}

func TestCountsLenMatchesLibrary(t *testing.T) {
	for _, g := range []struct {
		lo, hi int64
		digits int
	}{
		{1, 3600 * 1000 * 1000, 3}, // the ledger's
		{1, 60_000_000, 3},         // results'
		{1000, 1 << 40, 2},
		{1, 1 << 62, 5},
		{7, 1000, 1},
	} {
		n, err := CountsLen(g.lo, g.hi, g.digits)
		if err != nil {
			t.Fatal(err)
		}
		// ByteSize is a fixed header plus 8 bytes a count.
		h := hdrhistogram.New(g.lo, g.hi, g.digits)
		if want := int64(h.ByteSize()-(6*8+5*4)) / 8; n != want {
			t.Errorf("CountsLen(%d, %d, %d) = %d, want %d", g.lo, g.hi, g.digits, n, want)
		}
	}
}
