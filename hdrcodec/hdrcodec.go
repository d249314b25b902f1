// Package hdrcodec decodes HdrHistogram V2 compressed encodings (base64)
// that come from outside the process: results.json files, interval logs,
// the services' ledger and hop answers. It bounds what a hostile or corrupt
// encoding can make the decoder allocate, and turns a panic of the
// hdrhistogram library into an error.
package hdrcodec

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Limits on what Decode accepts. Every histogram commbench writes (1 µs to
// 1 hour, 3 significant digits) has about 22,500 counts and encodes in a
// few KiB.
const (
	// MaxEncoded is the longest base64 encoding read: 4 MiB.
	MaxEncoded = 4 << 20
	// MaxCounts is the largest counts array a histogram may declare:
	// 2^20 counts, 8 MiB.
	MaxCounts = 1 << 20
)

// ErrEncoding wraps every error of Decode.
var ErrEncoding = errors.New("HdrHistogram encoding")

// v2 cookies, as hdrhistogram-go writes them (the low nibble of the
// second byte carries a word size and is ignored).
const (
	compressedCookie = 0x1c849304
	plainCookie      = 0x1c849303
	headerSize       = 40
)

// Decode decodes a base64 HdrHistogram V2 compressed encoding. Before it
// hands the encoding to hdrhistogram.Decode it checks the outer and inner
// headers: the cookies, the compressed length, and the declared geometry,
// whose counts array must not exceed MaxCounts. A panic in the library is
// recovered and returned as an error. Every error wraps ErrEncoding and
// says what was wrong.
func Decode(enc []byte) (h *hdrhistogram.Histogram, err error) {
	if err := check(enc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("%w: the decoder failed on it: %v", ErrEncoding, p)
		}
	}()
	h, err = hdrhistogram.Decode(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return h, nil
}

// DecodeString is Decode of a string.
func DecodeString(enc string) (*hdrhistogram.Histogram, error) { return Decode([]byte(enc)) }

func check(enc []byte) error {
	if len(enc) > MaxEncoded {
		return fmt.Errorf("%d bytes of base64, more than the %d a histogram may have", len(enc), MaxEncoded)
	}
	raw, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		return fmt.Errorf("not base64: %w", err)
	}
	if len(raw) < 8 {
		return fmt.Errorf("%d bytes, shorter than the 8-byte header", len(raw))
	}
	if c := binary.BigEndian.Uint32(raw) &^ 0xf0; c != compressedCookie {
		return fmt.Errorf("cookie %#x: not a V2 compressed histogram (%#x)", c, compressedCookie)
	}
	n := int32(binary.BigEndian.Uint32(raw[4:]))
	if n < 0 || int(n) > len(raw)-8 {
		return fmt.Errorf("declares %d compressed bytes, has %d", n, len(raw)-8)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return fmt.Errorf("compressed contents: %w", err)
	}
	defer zr.Close()
	var hdr [headerSize]byte
	if _, err := io.ReadFull(zr, hdr[:]); err != nil {
		return fmt.Errorf("inner header: %w", err)
	}
	if c := binary.BigEndian.Uint32(hdr[:]) &^ 0xf0; c != plainCookie {
		return fmt.Errorf("inner cookie %#x: not a V2 histogram (%#x)", c, plainCookie)
	}
	digits := int32(binary.BigEndian.Uint32(hdr[12:]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:]))
	counts, err := CountsLen(lowest, highest, int(digits))
	if err != nil {
		return err
	}
	if counts > MaxCounts {
		return fmt.Errorf("declares values %d to %d at %d significant digits: %d counts, more than the %d a histogram may have", lowest, highest, digits, counts, MaxCounts)
	}
	return nil
}

// CountsLen is the length of the counts array of a histogram of this
// geometry, as hdrhistogram-go computes it, without allocating it. A
// lowest value below 1 counts as 1.
func CountsLen(lowest, highest int64, digits int) (int64, error) {
	if digits < 0 || digits > 5 {
		return 0, fmt.Errorf("%d significant digits: want 0 to 5", digits)
	}
	if lowest < 1 {
		lowest = 1
	}
	if highest < 2*lowest {
		return 0, fmt.Errorf("highest value %d is below twice the lowest, %d", highest, lowest)
	}
	subBucketCountMag := int(math.Ceil(math.Log2(2 * math.Pow10(digits))))
	halfMag := max(subBucketCountMag, 1) - 1
	unitMag := max(int(math.Floor(math.Log2(float64(lowest)))), 0)
	if unitMag+halfMag > 61 {
		return 0, fmt.Errorf("lowest value %d is too large for %d significant digits", lowest, digits)
	}
	subBucketCount := int64(1) << (halfMag + 1)
	smallest := subBucketCount << unitMag
	buckets := int64(1)
	for smallest <= highest {
		if smallest > math.MaxInt64/2 {
			buckets++
			break
		}
		smallest <<= 1
		buckets++
	}
	return (buckets + 1) * (subBucketCount / 2), nil
}
