package claims

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// A rule that read some seconds (in.window) decided from each of them, so
// a bound second among them may have set its verdict, or may not: 12 ms
// of send lag cannot move a 1,400 ms p99. decide finds out by deciding the
// rule again, on copies of the results:
//
//   - without the bound seconds: every pattern whose seconds the rule read
//     loses the seconds at the times any of them was bound (so that patterns
//     compared second by second still cover the same seconds of the
//     schedule);
//   - with them, their API latencies less the second's worst send lag
//     (series.send_lag_max_ms): a latency counts from the intended send
//     time, so a send made late carries its lateness.
//
// The verdict stands when both decide what the numbers as read decided and
// at least Remaining of each pattern's seconds read are left without the
// bound ones; judge then quotes the figures without them, and says which
// seconds were bound and that they change nothing. Otherwise judge makes
// it inconclusive, and says what flips and what the numbers say each way.
// A rule that read a pattern whole is judged by TailShare instead (judge).

// Remaining is the share of the seconds a window-read verdict reads that
// must be left once the bound ones are taken out, for the verdict to stand.
const Remaining = 2.0 / 3

// settled is how a rule's verdict came out without its bound seconds.
type settled struct {
	asRead  string   // the verdict as read
	without verdict  // decided without the bound seconds
	lessLag string   // decided with their latencies less their send lag; "" when no lag was recorded
	lag     float64  // the worst send lag of the bound seconds read, ms
	kept    []string // what each pattern keeps without them: "sync 38 of its 40"
	short   bool     // some pattern keeps less than Remaining of its seconds
}

// stands: removing the bound seconds changes nothing.
func (st *settled) stands() bool {
	return !st.short && st.without.verdict == st.asRead && (st.lessLag == "" || st.lessLag == st.asRead)
}

// decide evaluates rl on in and judges its verdict; a verdict read from
// bound seconds is decided again without them first (settle).
func (in *run) decide(rl rule) verdict {
	in.read = reads{}
	v := rl.eval(in)
	if v.verdict != NotExercised {
		in.read.settled = in.settle(rl, v)
	}
	in.read.worseOnly = rl.worseOnly && v.verdict == Holds
	return in.judge(v)
}

// settle decides rl again without the bound seconds in what it read of
// in (v is its verdict as read); nil when those seconds hold none.
func (in *run) settle(rl rule, v verdict) *settled {
	keys := in.narrowed()
	// The times of the bound seconds of every pattern read by seconds.
	at := map[float64]bool{}
	hit := false
	for _, k := range keys {
		s := in.r.Patterns[k].Series
		for i := range s.T {
			if isBound(s, i) {
				at[s.T[i]] = true
				hit = hit || slices.Contains(in.read.secs[k], i)
			}
		}
	}
	if !hit {
		return nil
	}
	st := &settled{asRead: v.verdict}
	for _, k := range keys {
		s, w := in.r.Patterns[k].Series, in.read.secs[k]
		left := 0
		for _, i := range w {
			if i < len(s.T) && !at[s.T[i]] {
				left++
			}
			if isBound(s, i) && i < len(s.SendLagMax) {
				st.lag = max(st.lag, s.SendLagMax[i])
			}
		}
		st.kept = append(st.kept, fmt.Sprintf("%s %d of its %d", k, left, len(w)))
		st.short = st.short || float64(left) < Remaining*float64(len(w))
	}
	st.without = rl.eval(&run{r: in.variant(keys, func(s results.Series) results.Series {
		drop := map[int]bool{}
		for i, t := range s.T {
			drop[i] = at[t]
		}
		return dropSeconds(s, drop)
	}), prof: in.prof})
	if st.lag > 0 {
		st.lessLag = rl.eval(&run{r: in.variant(keys, lessLag), prof: in.prof}).verdict
	}
	return st
}

// narrowed are the patterns the verdict was decided from and read by
// seconds (in.window), in the order first read.
func (in *run) narrowed() []string {
	var out []string
	for _, k := range in.read.keys {
		if _, ok := in.read.secs[k]; ok && in.r.Patterns[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

func isBound(s results.Series, i int) bool { return i < len(s.Bound) && s.Bound[i] != "" }

// variant is a copy of the results with the series of the patterns keys
// made by f; the rest is shared with in.r, and read only.
func (in *run) variant(keys []string, f func(results.Series) results.Series) *results.Results {
	r := *in.r
	r.Patterns = maps.Clone(in.r.Patterns)
	for _, k := range keys {
		p := *r.Patterns[k]
		p.Series = f(p.Series)
		r.Patterns[k] = &p
	}
	return &r
}

// lessLag is a copy of s whose bound seconds' API latencies are less
// their worst send lag, none below a microsecond (a second with answers
// keeps them).
func lessLag(s results.Series) results.Series {
	s = dropSeconds(s, nil)
	for i := range s.T {
		if !isBound(s, i) || i >= len(s.SendLagMax) || s.SendLagMax[i] <= 0 {
			continue
		}
		for _, v := range [][]float64{s.APIP50, s.APIP99, s.APIMax} {
			if i < len(v) && v[i] > 0 {
				v[i] = max(v[i]-s.SendLagMax[i], 0.001)
			}
		}
	}
	return s
}

// dropSeconds is a deep copy of s without the seconds i for which drop[i]:
// every per-second slice loses them, those in maps (drops, CPU, lag by
// group) and in chain hops too. It walks the fields by reflection, so
// that a per-second field added to results.Series is never left out of
// step with the others.
func dropSeconds(s results.Series, drop map[int]bool) results.Series {
	return filter(reflect.ValueOf(s), drop).Interface().(results.Series)
}

func filter(v reflect.Value, drop map[int]bool) reflect.Value {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), 0, v.Len())
		for i := range v.Len() {
			if !drop[i] {
				out = reflect.Append(out, v.Index(i))
			}
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), filter(it.Value(), drop))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(filter(v.Elem(), drop))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			out.Field(i).Set(filter(v.Field(i), drop))
		}
		return out
	}
	return v
}

// boundAt lists the times of the bound seconds among idx of s, runs of
// consecutive seconds as ranges: "t = 17–19, 25 s".
func boundAt(s results.Series, idx []int) string {
	var ts []float64
	for _, i := range idx {
		if isBound(s, i) && i < len(s.T) {
			ts = append(ts, s.T[i])
		}
	}
	if len(ts) == 0 {
		return ""
	}
	slices.Sort(ts)
	var parts []string
	for j := 0; j < len(ts); {
		k := j
		for k+1 < len(ts) && math.Abs(ts[k+1]-ts[k]-1) < 1e-9 {
			k++
		}
		if k > j {
			parts = append(parts, tenths(ts[j])+"–"+tenths(ts[k]))
		} else {
			parts = append(parts, tenths(ts[j]))
		}
		j = k + 1
	}
	return "t = " + strings.Join(parts, ", ") + " s"
}

// lagText is the worst send lag of the bound seconds among idx of s,
// "; send lag at most 12.0 ms"; "" when none is recorded.
func lagText(s results.Series, idx []int) string {
	lag := 0.0
	for _, i := range idx {
		if isBound(s, i) && i < len(s.SendLagMax) {
			lag = max(lag, s.SendLagMax[i])
		}
	}
	if lag <= 0 {
		return ""
	}
	return "; send lag at most " + ms(lag)
}

// standsText says that the bound seconds change nothing.
func (st *settled) standsText() string {
	with := "Read with them,"
	if st.lessLag != "" {
		with += fmt.Sprintf(" as they are and with each one's API latencies less its worst send lag (up to %s),", ms(st.lag))
	}
	return fmt.Sprintf("The figures above leave them out (the seconds read left: %s; at least %s must be). %s the numbers say %q too: the bound seconds change nothing.",
		strings.Join(st.kept, ", "), third(Remaining), with, st.asRead)
}

// flips says what the bound seconds change, for judge's why.
func (st *settled) flips() string {
	var what []string
	if st.without.verdict != st.asRead {
		what = append(what, fmt.Sprintf("without them the numbers say %q", st.without.verdict))
	}
	if st.lessLag != "" && st.lessLag != st.asRead {
		what = append(what, fmt.Sprintf("with each one's API latencies less its worst send lag (up to %s), %q", ms(st.lag), st.lessLag))
	}
	out := ""
	if len(what) > 0 {
		out = "the bound seconds decide it: " + strings.Join(what, "; ")
	}
	if st.short {
		if out != "" {
			out += "; and they are "
		} else {
			out = "the bound seconds are "
		}
		out += fmt.Sprintf("too many to leave out: without them the seconds read left are %s, and at least %s must be", strings.Join(st.kept, ", "), third(Remaining))
	}
	return out
}

// third formats Remaining.
func third(f float64) string {
	if f == 2.0/3 {
		return "⅔"
	}
	return pct(f)
}
