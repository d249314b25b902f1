package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
)

func init() {
	register(command{name: "report", summary: "(re)render a run folder's HTML report, RUN_DIR/index.html", run: cmdReport})
	register(command{name: "compare", summary: "one HTML page comparing two runs: summaries and spectra side by side", run: cmdCompare})
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	again := fs.Bool("claims", false, "decide the run's claims again with this build's rules and write them into results.json (the run's measurements are not touched)")
	ramp := fs.Bool("ramp", false, "the arguments are calibration ramps (commbench calibrate --ramp --out, scripts/vegeta-ramp): draw them on one page, beside the first's JSON (.html)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commbench report [--claims] RUN_DIR")
		fmt.Fprintln(fs.Output(), "       commbench report --ramp RAMP.json [OTHER.json ...]")
		fmt.Fprintln(fs.Output(), "\nRenders RUN_DIR/results.json into RUN_DIR/index.html, a page that works offline;")
		fmt.Fprintln(fs.Output(), "with --ramp, the ramps into RAMP.html, the first's CPU per request against each other's.")
	}
	if pos, err := parseInterspersed(fs, args); err == nil && *ramp {
		return reportRamps(pos)
	}
	dirs, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if err := isRunDir(dirs[0]); err != nil {
		return err
	}
	if err := attachClaims(dirs[0], *again); err != nil {
		return err
	}
	path, err := reports.Render(dirs[0])
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}

// attachClaims evaluates the claims of a run whose results.json has none
// (a run from before claims), or again when again, and writes them into
// it.
func attachClaims(dir string, again bool) error {
	res, err := results.Read(dir)
	if err != nil {
		return err
	}
	if len(res.Claims) > 0 && !again {
		return nil
	}
	res.Claims = claims.Evaluate(res)
	if err := res.Write(dir); err != nil {
		return fmt.Errorf("report: writing the claims into %s: %w", filepath.Join(dir, "results.json"), err)
	}
	return nil
}

func cmdCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	out := fs.String("out", "", "write the page here (default: RUN_B/compare-<RUN_A's id>.html)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commbench compare [--out FILE] RUN_A RUN_B")
		fmt.Fprintln(fs.Output(), "\nOne page with both runs' summaries and percentile spectra side by side, B's change from A marked.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	dirs, err := parseArgs(fs, args, 2)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := isRunDir(d); err != nil {
			return err
		}
	}
	path, err := reports.RenderCompare(dirs[0], dirs[1], *out)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}

// parseArgs parses the flags of fs, which may come before, between or
// after the n positional arguments, and returns those. Errors are as
// parseFlags makes them.
func parseArgs(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		want := "RUN_DIR"
		if n == 2 {
			want = "RUN_A and RUN_B"
		}
		return nil, usageErr(fmt.Errorf("%s: want %s, got %d argument(s)", fs.Name(), want, len(pos)), "run 'commbench "+fs.Name()+" -h' for its usage")
	}
	return pos, nil
}

// isRunDir says, as a usage error, what is wrong with dir as a run folder.
func isRunDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "results.json")); err != nil {
		return usageErr(fmt.Errorf("%s: no results.json: %w", dir, err), "give a run folder, such as reports/latest")
	}
	return nil
}

// reportRamps draws the ramps in files on one page beside the first.
func reportRamps(files []string) error {
	if len(files) == 0 {
		return usageErr(errors.New("report --ramp: want one ramp's JSON or more"), "e.g. commbench report --ramp ramp.json ramp-vegeta.json")
	}
	ramps := make([]results.Ramp, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return usageErr(fmt.Errorf("report --ramp: %w", err), "")
		}
		if err := json.Unmarshal(b, &ramps[i]); err != nil || len(ramps[i].Seconds) == 0 {
			return usageErr(fmt.Errorf("report --ramp: %s is not a calibration ramp (%v)", f, err), "give the JSON of commbench calibrate --ramp --out or scripts/vegeta-ramp")
		}
	}
	page := strings.TrimSuffix(files[0], filepath.Ext(files[0])) + ".html"
	if err := reports.WriteRampFile(page, ramps); err != nil {
		return err
	}
	fmt.Println(page)
	return nil
}
