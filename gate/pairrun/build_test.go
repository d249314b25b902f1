package pairrun

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/profiles"
)

// gitRepo makes a git repository in a temporary folder and returns it and
// a function that runs git in it.
func gitRepo(t *testing.T) (string, func(args ...string) string) {
	t.Helper()
	repo := t.TempDir()
	gitT := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	gitT("init", "-q", "-b", "main")
	return repo, gitT
}

// TestBuild checks Against's build: a ref that is no commit is a usage
// error; a base that does not build is inconclusive, with the compiler's
// message; and the temporary worktree is gone either way. Nothing runs:
// the build comes before Kafka and the runs.
func TestBuild(t *testing.T) {
	repo, gitT := gitRepo(t)
	os.MkdirAll(filepath.Join(repo, "cmd", "commbench"), 0o755)
	os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "cmd", "commbench", "main.go"), []byte("package main\n\nfunc main() { undefinedCall() }\n"), 0o644)
	gitT("add", ".")
	gitT("commit", "-q", "-m", "broken")

	for _, tt := range []struct {
		name     string
		ref      string
		wantKind Kind
		want     []string
	}{
		{name: "no such ref", ref: "no-such-branch", wantKind: Usage, want: []string{"--against no-such-branch", "no such commit", "fetch-depth: 0"}},
		{name: "broken build", ref: "HEAD", wantKind: Inconclusive, want: []string{"inconclusive", "does not build", "undefinedCall"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log strings.Builder
			err := Run(context.Background(), Config{Against: tt.ref, Repo: repo, HeadExe: os.Args[0], Version: "dev",
				Profile: ciProfile, Repeats: 1, Out: t.TempDir(), Log: &log,
				Options: func(profiles.Gate) gate.PairOptions { return gate.PairOptions{Alpha: 0.05} }})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			if e.Kind != tt.wantKind {
				t.Fatalf("kind: got %d, want %d (%v)", e.Kind, tt.wantKind, err)
			}
			text := log.String() + err.Error() + "\nhint: " + e.Hint
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output does not say %q:\n%s", w, text)
				}
			}
			if n := len(strings.Split(gitT("worktree", "list"), "\n")); n != 1 {
				t.Errorf("git worktree list: %d worktrees, want the repository's own only", n)
			}
		})
	}
}

func TestMergeBase(t *testing.T) {
	repo, gitT := gitRepo(t)
	if _, err := MergeBase(context.Background(), repo); !errors.Is(err, ErrNoDefaultBranch) {
		t.Errorf("no commit yet: got %v, want ErrNoDefaultBranch", err)
	}
	gitT("commit", "-q", "--allow-empty", "-m", "first")
	fork := gitT("rev-parse", "HEAD")
	gitT("checkout", "-q", "-b", "feature")
	gitT("commit", "-q", "--allow-empty", "-m", "on the branch")
	gitT("checkout", "-q", "main")
	gitT("commit", "-q", "--allow-empty", "-m", "on main")
	gitT("checkout", "-q", "feature")
	got, err := MergeBase(context.Background(), repo)
	if err != nil || got != fork {
		t.Errorf("got %q, %v; want the fork point %s", got, err, fork)
	}
	gitT("branch", "-q", "-m", "main", "trunk")
	if _, err := MergeBase(context.Background(), repo); !errors.Is(err, ErrNoDefaultBranch) {
		t.Errorf("no main: got %v, want ErrNoDefaultBranch", err)
	}
}
