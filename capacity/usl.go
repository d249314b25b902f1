package capacity

import (
	"math"

	"github.com/commbench/commbench/results"
)

// MissThreshold: a prediction further than this from the measured
// capacity, relative to it, is a miss.
const MissThreshold = 0.20

// Fit fits the Universal Scalability Law
//
//	C(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// to capacities cs at scales ns (ascending, the first 1: λ is C(1)). With
// λ fixed, N·λ/C(N) − 1 = σ(N−1) + κN(N−1) is linear in σ and κ, fitted
// by least squares through 0, both held at 0 or above. One scale besides
// 1 fixes one parameter: κ is then 0 (Amdahl's law). Scales without a
// capacity (0) are left out; nil without 1 and another scale.
func Fit(ns []int, cs []float64) *results.USL {
	if len(ns) == 0 || len(ns) != len(cs) || ns[0] != 1 || cs[0] <= 0 {
		return nil
	}
	lambda := cs[0]
	var s11, s12, s22, s1y, s2y float64
	points := 1
	for i, n := range ns[1:] {
		c := cs[i+1]
		if n <= 1 || c <= 0 {
			continue
		}
		points++
		N := float64(n)
		x1, x2, y := N-1, N*(N-1), N*lambda/c-1
		s11, s12, s22, s1y, s2y = s11+x1*x1, s12+x1*x2, s22+x2*x2, s1y+x1*y, s2y+x2*y
	}
	switch points {
	case 1:
		return nil
	case 2:
		return &results.USL{Lambda: lambda, Sigma: max(0, s1y/s11), Points: points}
	}
	det := s11*s22 - s12*s12
	sigma, kappa := (s1y*s22-s2y*s12)/det, (s2y*s11-s1y*s12)/det
	switch {
	case det == 0 || sigma < 0:
		sigma, kappa = 0, max(0, s2y/s22)
	case kappa < 0:
		sigma, kappa = max(0, s1y/s11), 0
	}
	return &results.USL{Lambda: lambda, Sigma: sigma, Kappa: kappa, Points: points}
}

// Predict is u's capacity at n replicas.
func Predict(u *results.USL, n int) float64 { return u.At(float64(n)) }

// Peak is the scale at which u's capacity is highest, and that capacity:
// √((1−σ)/κ) for κ > 0; +Inf without crosstalk.
func Peak(u *results.USL) (n, rps float64) {
	if u.Kappa <= 0 {
		return math.Inf(1), math.Inf(1)
	}
	n = math.Sqrt(max(1-u.Sigma, 0) / u.Kappa)
	N := max(n, 1)
	return n, u.Lambda * N / (1 + u.Sigma*(N-1) + u.Kappa*N*(N-1))
}

// PredictLargest predicts the capacity at the largest of scales ns from
// the fit to the smaller ones and compares it with the measured one; nil
// with fewer than three scales with a capacity.
func PredictLargest(ns []int, cs []float64) *results.Prediction {
	var n2 []int
	var c2 []float64
	for i := range ns {
		if cs[i] > 0 {
			n2, c2 = append(n2, ns[i]), append(c2, cs[i])
		}
	}
	if len(n2) < 3 {
		return nil
	}
	last := len(n2) - 1
	u := Fit(n2[:last], c2[:last])
	if u == nil {
		return nil
	}
	pr := &results.Prediction{Replicas: n2[last], FromScales: n2[:last], PredictedRPS: Predict(u, n2[last]), MeasuredRPS: c2[last]}
	pr.Error = (pr.PredictedRPS - pr.MeasuredRPS) / pr.MeasuredRPS
	pr.Miss = math.Abs(pr.Error) > MissThreshold
	return pr
}
