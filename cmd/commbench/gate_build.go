package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/commbench/commbench/internal/proc"
	"gopkg.in/yaml.v3"
)

// maxBuildTime bounds the base's build (a cold module cache on a 2-core
// runner takes a few minutes).
const maxBuildTime = 10 * time.Minute

// buildRef builds commit ref of the repository at repo into the binary
// out, in a temporary git worktree that it always removes (also on a
// failed build and on Ctrl-C). It returns the commit's hash. A ref that
// names no commit is a usage error (exit 2); a failed build is
// inconclusive (exit 3).
func buildRef(ctx context.Context, repo, ref, out string) (string, error) {
	shaOut, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", usageErr(fmt.Errorf("gate: --against %s: %w in %s", ref, errNoRef, repo),
			"name a commit, branch or tag; in CI check out with fetch-depth: 0 so that the default branch is there")
	}
	sha := strings.TrimSpace(shaOut)
	tmp, err := os.MkdirTemp("", "commbench-gate-src-")
	if err != nil {
		return "", err
	}
	src := filepath.Join(tmp, "src")
	defer func() {
		// A fresh context: the worktree goes even when ctx was cancelled.
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := git(cctx, repo, "worktree", "remove", "--force", src); err != nil {
			gateLogf("removing the worktree %s: %v", src, err)
		}
		os.RemoveAll(tmp)
		git(cctx, repo, "worktree", "prune")
	}()
	if _, err := git(ctx, repo, "worktree", "add", "--detach", src, sha); err != nil {
		return "", &exitError{Code: exitInconclusive, Err: fmt.Errorf("gate: inconclusive: cannot check out %s: %w", ref, err),
			Hint: "git worktree add failed; see the message above"}
	}
	bctx, cancel := context.WithTimeout(ctx, maxBuildTime)
	defer cancel()
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(bctx, "go", "build", "-o", abs, "-ldflags", "-X main.version="+sha[:min(12, len(sha))], "./cmd/commbench")
	cmd.Dir = src
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", &exitError{Code: exitSignaled, Err: errors.New("gate: interrupted while building the base")}
		}
		return "", &exitError{Code: exitInconclusive,
			Err:  fmt.Errorf("gate: inconclusive: the base %s (%s) does not build: %s", ref, sha[:min(12, len(sha))], strings.Join(proc.Head(stderr.String(), 3), " / ")),
			Hint: "nothing was compared; fix the base or gate against another commit (--against)"}
	}
	return sha, nil
}

// git runs git in dir and returns its stdout.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// setProfile applies PATH=VALUE settings to a profile's YAML: a dotted
// path of mapping keys (services.reaction.write_cost), created where
// missing, set to VALUE read as a YAML scalar. Comments are kept.
func setProfile(data []byte, sets []string) ([]byte, error) {
	if len(sets) == 0 {
		return data, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the profile is not a YAML mapping")
	}
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("%q: want PATH=VALUE", s)
		}
		var v yaml.Node
		if err := yaml.Unmarshal([]byte(value), &v); err != nil || len(v.Content) != 1 || v.Content[0].Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%q: the value must be one YAML scalar", s)
		}
		node := doc.Content[0]
		keys := strings.Split(path, ".")
		for i, k := range keys {
			next := mappingValue(node, k)
			if next == nil {
				next = &yaml.Node{Kind: yaml.MappingNode}
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, next)
			}
			if i == len(keys)-1 {
				*next = *v.Content[0]
				break
			}
			if next.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%q: %s is not a mapping", s, strings.Join(keys[:i+1], "."))
			}
			node = next
		}
	}
	return yaml.Marshal(&doc)
}

// mappingValue is the value of key in mapping m, nil when absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// dropProfileKey removes a top-level key from a profile's YAML. The runs
// get their profile without gate:, which only the gate reads: a base older
// than the head's gate: fields still runs it.
func dropProfileKey(data []byte, key string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the profile is not a YAML mapping")
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			break
		}
	}
	return yaml.Marshal(&doc)
}

// checkBaseProfile makes sure the base accepts the profile it is to run
// (commbench run --dry-run). When it does not and the base was built from
// a commit, the base runs that commit's own version of the profile file,
// and the returned note says so; with --base-exe there is nothing else to
// run, and the gate is inconclusive.
func checkBaseProfile(ctx context.Context, plan *pairPlan, repo, sha, profileFile string) (string, error) {
	why := dryRun(ctx, plan.baseExe, plan.baseProfile, plan.patterns)
	if why == "" {
		return "", nil
	}
	inconclusive := func(more string) error {
		return &exitError{Code: exitInconclusive, Err: fmt.Errorf("gate: inconclusive: the base rejects the head's profile: %s%s", why, more),
			Hint: "nothing was compared; the base must be able to run the profile (--against an older commit, or --profile)"}
	}
	if sha == "" {
		return "", inconclusive("")
	}
	top, err := git(ctx, repo, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", inconclusive("")
	}
	abs, _ := filepath.Abs(profileFile)
	rel, err := filepath.Rel(strings.TrimSpace(top), abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", inconclusive("")
	}
	own, err := git(ctx, repo, "show", sha+":"+filepath.ToSlash(rel))
	if err != nil {
		return "", inconclusive(fmt.Sprintf(" (and the base has no %s of its own)", rel))
	}
	data, err := dropProfileKey([]byte(own), "gate")
	if err != nil {
		return "", inconclusive(fmt.Sprintf(" (and its own %s: %v)", rel, err))
	}
	if err := os.WriteFile(plan.baseProfile, data, 0o644); err != nil {
		return "", err
	}
	if again := dryRun(ctx, plan.baseExe, plan.baseProfile, plan.patterns); again != "" {
		return "", inconclusive(fmt.Sprintf(" (nor its own %s: %s)", rel, again))
	}
	return fmt.Sprintf("the base ran its own %s (it rejects the head's: %s); a change of the profile counts in the comparison", rel, why), nil
}

// dryRun is why exe rejects the profile, "" when it accepts it.
func dryRun(ctx context.Context, exe, profile, patterns string) string {
	args := []string{"run", "--profile", profile, "--dry-run"}
	if patterns != "" {
		args = append(args, "--patterns", patterns)
	}
	out, err := exec.CommandContext(ctx, exe, args...).CombinedOutput()
	if err == nil {
		return ""
	}
	return strings.Join(proc.Head(string(out), 1), "")
}
