package results

import "testing"

func TestDropsAdd(t *testing.T) {
	var d Drops
	for _, c := range []DropClass{NotDropped, DropTimeout, DropRefused, DropReset, DropHTTP429, DropHTTP503, DropHTTP5xx, DropOther, DropTimeout} {
		d.Add(c)
	}
	want := Drops{Total: 8, Timeout: 2, Refused: 1, Reset: 1, HTTP429: 1, HTTP503: 1, HTTP5xx: 1, Other: 1}
	if d != want {
		t.Errorf("got %+v, want %+v", d, want)
	}
	var sum int64
	for _, n := range d.ByClass() {
		sum += n
	}
	if sum != d.Total {
		t.Errorf("ByClass adds up to %d, want %d", sum, d.Total)
	}
}
