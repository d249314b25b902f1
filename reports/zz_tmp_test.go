package reports

import "testing"

func TestZZRender(t *testing.T) {
	if _, err := Render("/tmp/rv"); err != nil {
		t.Fatal(err)
	}
	if _, err := RenderCompare("testdata", "testdata/b", "/tmp/rv/compare.html"); err != nil {
		t.Fatal(err)
	}
}
