package svc_test

import (
	"encoding/json"
	"fmt"

	"github.com/commbench/commbench/targets/svc"
)

// A service counts every answer's status; only 502, 503 and 504 count,
// and its stats show them as status_502, status_503 and status_504.
func ExampleStatusCounts() {
	var c svc.StatusCounts
	for _, status := range []int{201, 503, 503, 504, 502, 202, 404} {
		c.Count(status)
	}
	b, _ := json.Marshal(struct {
		Mode string `json:"mode"`
		svc.Statuses
	}{"sync", c.Load()})
	fmt.Println(string(b))
	// Output: {"mode":"sync","status_502":1,"status_503":2,"status_504":1}
}
