package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/results"
)

func init() {
	register(command{name: "claims", summary: "every claim's verdict across several runs (./bench.sh claims ends with it)", run: cmdClaims})
}

// cmdClaims gathers the claims of several runs: no single profile exercises
// every claim, so ./bench.sh claims runs four and this says, claim by claim,
// what each run that exercised it found.
func cmdClaims(args []string) error {
	fs := flag.NewFlagSet("claims", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commbench claims RUN_DIR...")
		fmt.Fprintln(fs.Output(), "\nFor each claim about sync and async, the verdict of every run that exercised it, with its evidence.")
		fmt.Fprintln(fs.Output(), "Inconclusive verdicts (the machine, not the pattern, set the numbers, or the run was partial) are counted apart: they decide nothing.")
	}
	dirs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return usageErr(errors.New("claims: which runs?"), "commbench claims reports/runs/<run>... (./bench.sh claims passes the runs it made)")
	}
	var runs []*results.Results
	for _, dir := range dirs {
		if err := isRunDir(dir); err != nil {
			return err
		}
		if err := attachClaims(dir, false); err != nil {
			return err
		}
		res, err := results.Read(dir)
		if err != nil {
			return err
		}
		runs = append(runs, res)
	}
	writeClaims(os.Stdout, runs)
	return nil
}

// writeClaims writes a table, a row per claim and run that exercised it,
// a line counting the verdicts (inconclusive ones apart: the machine or a
// partial run, not the pattern, set their numbers, so they decide nothing),
// then each verdict's evidence; a claim no run exercised says so.
func writeClaims(w io.Writer, runs []*results.Results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "claim\tverdict\trun")
	var evidence []string
	counts := map[string]int{}
	unexercised := 0
	for _, rule := range claims.Rules() {
		id, seen := rule[0], false
		for _, r := range runs {
			for _, c := range r.Claims {
				if c.ID != id || c.Verdict == claims.NotExercised {
					continue
				}
				seen = true
				counts[c.Verdict]++
				fmt.Fprintf(tw, "%s\t%s\t%s\n", id, c.Verdict, r.Run.ID)
				evidence = append(evidence, fmt.Sprintf("%s (%s, %s): %s", id, c.Verdict, r.Run.Profile, c.Evidence))
			}
		}
		if !seen {
			unexercised++
			fmt.Fprintf(tw, "%s\t%s\t%s\n", id, claims.NotExercised, "none of these runs")
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", countLine(counts, unexercised))
	if len(evidence) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(evidence, "\n\n"))
	}
}

// countLine counts the verdicts: those decided, the inconclusive apart,
// and the claims no run exercised.
func countLine(counts map[string]int, unexercised int) string {
	var decided []string
	for _, v := range claims.Verdicts {
		if v != claims.Inconclusive && v != claims.NotExercised && counts[v] > 0 {
			decided = append(decided, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	line := "decided: none"
	if len(decided) > 0 {
		line = "decided: " + strings.Join(decided, ", ")
	}
	if n := counts[claims.Inconclusive]; n > 0 {
		line += fmt.Sprintf("; %d inconclusive, not decided (the machine, not the pattern, set their numbers, or the run was partial: their evidence says which)", n)
	} else {
		line += "; 0 inconclusive"
	}
	return line + fmt.Sprintf("; %d of %d claims not exercised by any of these runs", unexercised, len(claims.Rules()))
}
