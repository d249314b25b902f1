package reports_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/commbench/commbench/reports"
)

// Render turns a run folder's results.json into its index.html.
func ExampleRender() {
	dir, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(dir)
	b, _ := os.ReadFile("testdata/results.json")
	_ = os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644)

	path, err := reports.Render(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(path))
	// Output: index.html
}
