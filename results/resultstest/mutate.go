package resultstest

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/results"
)

// Mutate changes r by ops, three bytes an operation: two pick a field
// anywhere in r (numbers, strings, bools, times, slices and maps, through
// pointers, slices and maps), the third what to do with it — the values a
// results.json from another machine, another version or a broken disk may
// hold: zero, negative, huge, empty, truncated, missing, another
// pattern's name. A fuzz target's ops reach what byte flips of a large
// JSON file rarely do.
func Mutate(r *results.Results, ops []byte) {
	for ; len(ops) >= 3; ops = ops[3:] {
		var leaves []leaf
		collect(reflect.ValueOf(r).Elem(), nil, &leaves, 0)
		if len(leaves) == 0 {
			return
		}
		if ops[0]&0x80 != 0 {
			// Half the operations go to the shallow fields: the order,
			// the patterns, the run, the summaries and whole series,
			// which are few among the series' many values.
			leaves = slices.DeleteFunc(leaves, func(l leaf) bool { return l.depth > 5 })
		}
		l := leaves[(int(ops[0]&0x7f)<<8|int(ops[1]))%len(leaves)]
		apply(l.v, ops[2])
		if l.commit != nil {
			l.commit()
		}
	}
}

// leaf is a value Mutate may change; commit, if any, writes it back into
// the maps it sits in (map values are copies).
type leaf struct {
	v      reflect.Value
	commit func()
	depth  int
}

// maxDepth bounds the walk; results.Results is not recursive, but a
// mutation must not make it walk forever.
const maxDepth = 12

var timeType = reflect.TypeOf(time.Time{})

func collect(v reflect.Value, commit func(), out *[]leaf, depth int) {
	if depth > maxDepth {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		*out = append(*out, leaf{v, commit, depth})
		if !v.IsNil() {
			collect(v.Elem(), commit, out, depth+1)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			*out = append(*out, leaf{v, commit, depth})
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				collect(v.Field(i), commit, out, depth+1)
			}
		}
	case reflect.Slice:
		*out = append(*out, leaf{v, commit, depth})
		// The first elements and the last: series are long, and their
		// ends are where readers go wrong.
		for i := range v.Len() {
			if i < 3 || i == v.Len()-1 {
				collect(v.Index(i), commit, out, depth+1)
			}
		}
	case reflect.Map:
		*out = append(*out, leaf{v, commit, depth})
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			collect(e, func() {
				v.SetMapIndex(k, e)
				if commit != nil {
					commit()
				}
			}, out, depth+1)
		}
	default:
		if v.CanSet() {
			*out = append(*out, leaf{v, commit, depth})
		}
	}
}

var (
	ints    = []int64{0, -1, 1, 2, math.MaxInt64, math.MinInt64, 1 << 40}
	floats  = []float64{0, -1, 1, 0.5, 1e308, -1e308, 1e-300, 99.9}
	strs    = []string{"", "sync", "async", "hybrid", "sync.2", "sync.x.3", "../x", "machine-bound", "generator-bound", "ok", "holds", "local", "embedded", strings.Repeat("é", 300)}
	times   = []time.Time{{}, time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	keyStrs = []string{"sync", "async", "hybrid", "x", "sync.2", "timeout", "total", "generator", "reaction", "A", "B"}
)

func apply(v reflect.Value, op byte) {
	i := int(op >> 3)
	switch v.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(ints[i%len(ints)])
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(uint64(ints[i%len(ints)]))
	case reflect.Float64:
		v.SetFloat(floats[i%len(floats)])
	case reflect.String:
		v.SetString(strs[i%len(strs)])
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(times[i%len(times)]))
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		} else if op&1 == 0 {
			v.Set(reflect.Zero(v.Type()))
		}
	case reflect.Slice:
		applySlice(v, op)
	case reflect.Map:
		applyMap(v, op)
	}
}

func applySlice(v reflect.Value, op byte) {
	n := v.Len()
	switch op % 4 {
	case 0:
		v.Set(reflect.Zero(v.Type()))
	case 1:
		v.SetLen(min(n, 1))
	case 2:
		if n > 0 {
			v.SetLen(n - 1)
		}
	case 3:
		e := reflect.New(v.Type().Elem()).Elem()
		if n > 0 {
			e.Set(v.Index(n - 1))
		}
		v.Set(reflect.Append(v, e))
	}
}

func applyMap(v reflect.Value, op byte) {
	keys := v.MapKeys()
	switch {
	case op%4 == 0:
		v.Set(reflect.Zero(v.Type()))
	case op%4 == 1 && len(keys) > 0:
		v.SetMapIndex(keys[int(op>>2)%len(keys)], reflect.Value{})
	case v.Type().Key().Kind() == reflect.String:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k := reflect.ValueOf(keyStrs[int(op>>2)%len(keyStrs)]).Convert(v.Type().Key())
		e := reflect.New(v.Type().Elem()).Elem()
		if len(keys) > 0 {
			e.Set(v.MapIndex(keys[0]))
		}
		v.SetMapIndex(k, e)
	}
}

// WriteMutated decodes seed, mutates it by ops and writes it as
// results.json in a new folder, which it returns. It writes the JSON
// without checking it: Read is what decides.
func WriteMutated(tb testing.TB, seed, ops []byte) string {
	tb.Helper()
	var r results.Results
	if err := json.Unmarshal(seed, &r); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	Mutate(&r, ops)
	b, err := json.Marshal(&r)
	if err != nil {
		tb.Fatalf("mutated results: %v", err)
	}
	return WriteRun(tb, b)
}
