package hdrcodec_test

import (
	"fmt"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
)

func ExampleDecode() {
	h := hdrhistogram.New(1, 3600*1000*1000, 3)
	_ = h.RecordValue(1500)
	enc, _ := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	back, err := hdrcodec.Decode(enc)
	fmt.Println(back.TotalCount(), back.Max() >= 1500, err)

	_, err = hdrcodec.Decode([]byte("HISTFAAA"))
	fmt.Println(err)
	// Output:
	// 1 true <nil>
	// HdrHistogram encoding: 6 bytes, shorter than the 8-byte header
}
