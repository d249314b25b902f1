package harness

import (
	"fmt"
	"strings"

	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// maxLostShown bounds the lost ids a warning names.
const maxLostShown = 10

// lossWarnings says, when the ledger found accepted reactions neither
// delivered nor dead-lettered, how many, which (the first ids) and what the
// run did that could explain it: never silent. The run says it as it
// records it (runFolder.warn).
func (r *patternRun) lossWarnings(s *results.Summary) []string {
	if s.Lost == 0 || s.LostUnknown {
		return nil
	}
	w := fmt.Sprintf("%s: %d accepted reaction(s) LOST (answered 201/202, then neither delivered nor dead-lettered by the end of the drain): ids %s",
		r.key, s.Lost, idList(r.lostIDs, maxLostShown))
	if !s.Drained {
		w += fmt.Sprintf("; the drain did not finish within %v, so some may only be late", r.p.Drain.Timeout)
	}
	if why := lossCause(r.p); why != "" {
		w += "; " + why
	}
	return []string{w}
}

// lossCause is what the profile's faults say about a loss: a broker kill on
// one replica is the one fault here that can lose an acknowledged write by
// design, and only if the machine, not the process, loses the page cache.
func lossCause(p *profiles.Profile) string {
	var kinds []string
	brokerDeath := false
	for _, f := range p.Faults {
		kinds = append(kinds, string(f.Target)+" "+string(f.Kind))
		if f.Target == profiles.TargetBroker && (f.Kind == profiles.KindKill || f.Kind == profiles.KindRestart) {
			brokerDeath = true
		}
	}
	if len(kinds) == 0 {
		return "the run had no fault: this is a bug in the services or the harness, please report it"
	}
	s := "faults in the run: " + strings.Join(kinds, ", ")
	if brokerDeath {
		s += ". The broker is one node with replication factor 1: Kafka keeps no second copy of an acknowledged write, " +
			"but a killed process leaves its writes in the page cache, so an acknowledged reaction should survive a broker kill on this machine: " +
			"treat this loss as a bug to report unless the machine itself lost the broker's disk"
	}
	return s
}

// idList writes at most max ids of rs, and how many more there are.
func idList(rs wire.Ranges, max int) string {
	var b strings.Builder
	n := 0
	for _, rg := range rs {
		for id := rg.Lo; id <= rg.Hi && n < max; id++ {
			if n > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d", id)
			n++
		}
	}
	if more := int64(rs.Count()) - int64(n); more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}
