package resultstest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/commbench/commbench/results"
)

func TestMutateReachesMapValues(t *testing.T) {
	r := &results.Results{Patterns: map[string]*results.Pattern{"sync": {}}}
	r.Patterns["sync"].Summary.CPUSecondsPer1k = map[string]float64{"total": 3}
	before, _ := json.Marshal(r)
	changed := 0
	for i := range 256 {
		c := &results.Results{}
		_ = json.Unmarshal(before, c)
		Mutate(c, []byte{0, byte(i), 0x08}) // -1, or 1, or "sync", …
		after, _ := json.Marshal(c)
		if string(after) != string(before) {
			changed++
		}
	}
	if changed < 50 {
		t.Errorf("%d of 256 mutations changed the results, want most", changed)
	}
	c := &results.Results{}
	_ = json.Unmarshal(before, c)
	var leaves []leaf
	collect(reflect.ValueOf(c).Elem(), nil, &leaves, 0)
	for _, l := range leaves {
		if l.v.Kind() == reflect.Float64 && l.commit != nil {
			apply(l.v, 0x08) // floats[1]: -1
			l.commit()
			if c.Patterns["sync"].Summary.CPUSecondsPer1k["total"] == -1 {
				return
			}
		}
	}
	t.Error("no leaf sets the map value cpu_s_per_1k.total")
}
