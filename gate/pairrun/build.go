package pairrun

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
)

// maxBuildTime bounds the base's build (a cold module cache on a 2-core
// runner takes a few minutes).
const maxBuildTime = 10 * time.Minute

// buildRef builds commit ref of the repository at repo into the binary
// out, in a temporary git worktree that it always removes (also on a
// failed build and on Ctrl-C). It returns the commit's hash. A ref that
// names no commit is a usage error (exit 2); a failed build is
// inconclusive (exit 3).
func buildRef(ctx context.Context, repo, ref, out string, logf func(string, ...any)) (string, error) {
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
			logf("removing the worktree %s: %v", src, err)
		}
		os.RemoveAll(tmp)
		git(cctx, repo, "worktree", "prune")
	}()
	if _, err := git(ctx, repo, "worktree", "add", "--detach", src, sha); err != nil {
		return "", &Error{Kind: Inconclusive, Err: fmt.Errorf("gate: inconclusive: cannot check out %s: %w", ref, err),
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
			return "", &Error{Kind: Interrupted, Err: errors.New("gate: interrupted while building the base")}
		}
		return "", &Error{Kind: Inconclusive,
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

// checkBaseProfile makes sure the base accepts the profile it is to run
// (commbench run --dry-run). When it does not and the base was built from
// a commit, the base runs that commit's own version of the profile file,
// and the returned note says so; with BaseExe there is nothing else to
// run, and the gate is inconclusive.
func checkBaseProfile(ctx context.Context, pl *plan, repo, sha, profileFile string) (string, error) {
	why := dryRun(ctx, pl.baseExe, pl.baseProfile, pl.patterns)
	if why == "" {
		return "", nil
	}
	inconclusive := func(more string) error {
		return &Error{Kind: Inconclusive, Err: fmt.Errorf("gate: inconclusive: the base rejects the head's profile: %s%s", why, more),
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
	if err := os.WriteFile(pl.baseProfile, data, 0o644); err != nil {
		return "", err
	}
	if again := dryRun(ctx, pl.baseExe, pl.baseProfile, pl.patterns); again != "" {
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

// headName names the head: this build's version, and the repository's
// commit when there is one (for a version "dev"), with "+ changes" for a
// dirty tree.
func headName(repo, version string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := "head " + version
	if sha, err := git(ctx, repo, "rev-parse", "--short=12", "HEAD"); err == nil && version == "dev" {
		name = "head " + strings.TrimSpace(sha)
		if st, err := git(ctx, repo, "status", "--porcelain", "--untracked-files=no"); err == nil && strings.TrimSpace(st) != "" {
			name += " + changes"
		}
	}
	return name
}

// ErrNoDefaultBranch is MergeBase's error when the repository has no
// default branch to gate against.
var ErrNoDefaultBranch = errors.New("no default branch to gate against (origin/main or main)")

// MergeBase is the commit the side-by-side gate compares with by default:
// the merge base of HEAD and the default branch (origin's HEAD, else
// origin/main, else main), in the repository at repo.
func MergeBase(ctx context.Context, repo string) (string, error) {
	var cands []string
	if ref, err := git(ctx, repo, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"); err == nil {
		cands = append(cands, strings.Fields(ref)...)
	}
	for _, cand := range append(cands, "origin/main", "main") {
		if _, err := git(ctx, repo, "rev-parse", "--verify", "-q", cand+"^{commit}"); err != nil {
			continue
		}
		if base, err := git(ctx, repo, "merge-base", "HEAD", cand); err == nil {
			return strings.TrimSpace(base), nil
		}
	}
	return "", ErrNoDefaultBranch
}
