package reports

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/results"
)

// claimsBlock is the report's Claims section: each classic claim, its
// verdict on this run and the numbers behind it.
type claimsBlock struct {
	Note  string // how the verdicts were counted, and where they came from
	Items []claimItem
}

type claimItem struct {
	ID       string
	Claim    string
	Verdict  string
	Class    string // the verdict's colour: holds, refuted, mixed, na
	Evidence string
	Numbers  string // "name = value · ...", by name
}

var verdictClass = map[string]string{
	claims.Holds:        "holds",
	claims.DoesNotHold:  "refuted",
	claims.Mixed:        "mixed",
	claims.NotExercised: "na",
	claims.Inconclusive: "inconclusive",
}

// claimsSection draws r's claims; when results.json holds none (a run from
// before claims, or written by another tool), it evaluates them here and
// says so.
func claimsSection(r *results.Results) *claimsBlock {
	cs := r.Claims
	from := ""
	if len(cs) == 0 {
		cs = claims.Evaluate(r)
		from = " results.json holds no claims: these were evaluated when this page was drawn (commbench report writes them into it)."
	}
	var b claimsBlock
	counts := map[string]int{}
	for _, c := range cs {
		counts[c.Verdict]++
		class, ok := verdictClass[c.Verdict]
		if !ok {
			class = "na"
		}
		b.Items = append(b.Items, claimItem{ID: c.ID, Claim: c.Claim, Verdict: c.Verdict, Class: class, Evidence: c.Evidence, Numbers: numbers(c.Numbers)})
	}
	var parts []string
	for _, v := range claims.Verdicts {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	b.Note = "What people say about sync and async, checked against this run's numbers: " + strings.Join(parts, ", ") + ". " +
		"Each rule is written down in claims/claims.go; \"not exercised\" means this profile gives no evidence either way." + from
	if isCapacity(r) {
		b.Note = "What people say about sync's and async's capacity, checked against this run's searches: " + strings.Join(parts, ", ") + ". " +
			"Each rule is written down in claims/claims_capacity.go; \"inconclusive\" where a search the machine ended would have decided it." + from
	}
	return &b
}

// numbers lists a claim's numbers by name.
func numbers(n map[string]float64) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		out = append(out, k+" = "+strconv.FormatFloat(n[k], 'f', -1, 64))
	}
	return strings.Join(out, " · ")
}
