package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
)

func init() {
	register(command{name: "merge", summary: "merge the run folders of a sharded run (run --shard i/n) into one results.json and report", run: cmdMerge})
}

func cmdMerge(args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	out := fs.String("out", "", "the merged run folder (default: reports/runs/<time>-<profile>-merged)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commbench merge [--out DIR] RUN_DIR...")
		fmt.Fprintln(fs.Output(), "\nMerges the shards' run folders (commbench run --shard i/n --targets ...) into one:")
		fmt.Fprintln(fs.Output(), "HdrHistograms merged exactly, second by second; counts summed; each shard's")
		fmt.Fprintln(fs.Output(), "reconciliation of its own id range added up. Writes results.json, the .hlog files")
		fmt.Fprintln(fs.Output(), "and index.html.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	dirs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return usageErr(errors.New("merge: want at least one RUN_DIR"), "give the run folders the shards wrote, e.g. commbench merge shard0/ shard1/ shard2/")
	}
	for _, d := range dirs {
		if err := isRunDir(d); err != nil {
			return err
		}
	}
	dir := *out
	if dir == "" {
		r, err := results.Read(dirs[0])
		if err != nil {
			return usageErr(err, "")
		}
		dir = filepath.Join("reports", "runs", time.Now().Format("20060102-150405")+"-"+r.Run.Profile+"-merged")
	}
	res, err := harness.Merge(dirs, dir)
	if err != nil {
		return usageErr(err, "")
	}
	printSummary(res, false)
	fmt.Printf("results: %s\n", filepath.Join(dir, "results.json"))
	page, err := reports.Render(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "commbench: the report could not be rendered: %v (run 'commbench report %s' to try again)\n", err, dir)
		return nil
	}
	fmt.Printf("report: %s\n", page)
	return nil
}
