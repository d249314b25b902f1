package gate

import (
	"math"

	"golang.org/x/perf/benchmath"
)

// DefaultAlpha is the significance level below which a difference between
// the base and the head counts, when neither the profile nor a flag says
// otherwise.
const DefaultAlpha = 0.05

// UTest is the two-sided p-value of the Mann–Whitney U test that a and b
// come from the same distribution (benchstat's test: benchmath's
// AssumeNothing, exact for small samples, with ties). It is 1 when the
// test cannot run: an empty sample, or every value equal.
func UTest(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 1
	}
	th := benchmath.DefaultThresholds
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(a, &th), benchmath.NewSample(b, &th))
	if math.IsNaN(c.P) {
		return 1
	}
	return c.P
}

// UTestMinP is the smallest two-sided p-value a Mann–Whitney U test of n
// values against m can give, when they do not overlap at all:
// 2 / C(n+m, n). A test whose UTestMinP is at or above alpha can never
// find a difference, whatever the numbers.
func UTestMinP(n, m int) float64 {
	if n <= 0 || m <= 0 {
		return 1
	}
	// log C(n+m, n) through the log-gamma function: no overflow.
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Min(1, 2*math.Exp(lg(n)+lg(m)-lg(n+m)))
}

// ProportionTest is the two-sided p-value of the pooled two-proportion z
// test that x1 of n1 and x2 of n2 are draws of the same fraction. It is 1
// when the pooled fraction is 0 or 1 (nothing to tell apart) or a count is
// empty.
func ProportionTest(x1, n1, x2, n2 int64) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	p := float64(x1+x2) / float64(n1+n2)
	if p <= 0 || p >= 1 {
		return 1
	}
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	z := (float64(x2)/float64(n2) - float64(x1)/float64(n1)) / se
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// Wilson is the Wilson score interval of k successes in n trials at 95%
// confidence: the interval the self-test gives its error rates with.
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nf := float64(n)
	d := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / d
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	return math.Max(0, mid-half), math.Min(1, mid+half)
}
