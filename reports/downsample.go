package reports

import (
	"math"
	"strconv"
)

// MaxPoints is the most points a time series keeps on the page. A run's
// series have one point per second; longer runs are downsampled so that a
// one-hour run's page stays small (a few MB) and quick to draw.
const MaxPoints = 600

// point is one [x, y] pair of a chart's series.
type point [2]float64

// sig rounds v to 4 significant digits: more than a chart can show, and
// it keeps the page's numbers short.
func sig(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return r
}

// secs rounds a time in seconds to milliseconds.
func secs(t float64) float64 { return math.Round(t*1000) / 1000 }

// minMax returns the points (t[i], v[i]) for which keep(v[i]), at most max
// of them: when there are more, it splits them into max/2 buckets of
// consecutive points and keeps each bucket's lowest and highest point, in
// time order, so that spikes and dips survive the downsampling.
func minMax(t, v []float64, max int, keep func(float64) bool) []point {
	n := min(len(t), len(v))
	pts := make([]point, 0, min(n, max))
	if n <= max {
		for i := range n {
			if keep(v[i]) {
				pts = append(pts, point{secs(t[i]), sig(v[i])})
			}
		}
		return pts
	}
	size := int(math.Ceil(float64(n) / float64(max/2)))
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		imin, imax := -1, -1
		for i := lo; i < hi; i++ {
			if !keep(v[i]) {
				continue
			}
			if imin < 0 || v[i] < v[imin] {
				imin = i
			}
			if imax < 0 || v[i] > v[imax] {
				imax = i
			}
		}
		switch {
		case imin < 0:
		case imin == imax:
			pts = append(pts, point{secs(t[imin]), sig(v[imin])})
		case imin < imax:
			pts = append(pts, point{secs(t[imin]), sig(v[imin])}, point{secs(t[imax]), sig(v[imax])})
		default:
			pts = append(pts, point{secs(t[imax]), sig(v[imax])}, point{secs(t[imin]), sig(v[imin])})
		}
	}
	return pts
}

// means returns each of vs at the times t, at most max points each, all on
// the same x values (stacked series need that): when there are more, it
// averages buckets of consecutive seconds, which keeps a stack's area (the
// total over the run) and says "per second" still.
func means(t []float64, max int, vs ...[]float64) [][]point {
	n := len(t)
	size := 1
	if n > max {
		size = int(math.Ceil(float64(n) / float64(max)))
	}
	out := make([][]point, len(vs))
	for k, v := range vs {
		pts := make([]point, 0, n/size+1)
		for lo := 0; lo < n; lo += size {
			hi := min(lo+size, n)
			sum, cnt := 0.0, 0
			for i := lo; i < hi; i++ {
				if i < len(v) {
					sum += v[i]
				}
				cnt++
			}
			pts = append(pts, point{secs(t[hi-1]), sig(sum / float64(cnt))})
		}
		out[k] = pts
	}
	return out
}

// positive keeps values a log axis can draw; a second without a sample
// holds 0.
func positive(v float64) bool { return v > 0 }

// known keeps values that were measured (-1: could not be read).
func known(v float64) bool { return v >= 0 }

func floats(v []int64) []float64 {
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return f
}
