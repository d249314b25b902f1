package reports

import (
	"fmt"
	"math"

	"github.com/commbench/commbench/hdrcodec"
)

// spectrumTop is 1/(1-p) for the highest percentile a spectrum shows,
// 99.999%.
const spectrumTop = 1e5

// spectrum decodes a base64 HdrHistogram V2 of microseconds and returns its
// percentile spectrum the way HdrHistogram plots it: x = 1/(1-p) (for a log
// axis: 90% is 10, 99% is 100, 99.9% is 1000), y = the latency in ms at
// that percentile. Twenty points a decade, up to 99.999% or as far as the
// histogram's count resolves, ending at its maximum. An empty string or
// histogram gives no points.
func spectrum(b64 string) ([]point, error) {
	if b64 == "" {
		return nil, nil
	}
	h, err := hdrcodec.Decode([]byte(b64))
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	n := h.TotalCount()
	if n == 0 {
		return nil, nil
	}
	top := min(spectrumTop, float64(n))
	var pts []point
	for i := 0; ; i++ {
		x := math.Pow(10, float64(i)/20)
		if x >= top {
			break
		}
		// ValueAtQuantile(0) is 0, not the lowest value, and a log axis
		// cannot draw 0.
		v := max(h.ValueAtQuantile(100-100/x), h.Min())
		if v > 0 {
			pts = append(pts, point{sig(x), sig(float64(v) / 1000)})
		}
	}
	return append(pts, point{sig(top), sig(float64(h.Max()) / 1000)}), nil
}
