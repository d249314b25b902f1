package results_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDocsLinks checks the Markdown the repository keeps (README.md, docs/
// and the rest git knows of): every relative link or image names a file
// that exists, and every #fragment a heading of the page it points at.
// The README is a front door to docs/: a page moved or renamed must not
// leave a link behind.
func TestDocsLinks(t *testing.T) {
	root := ".."
	out, err := exec.Command("git", "-C", root, "ls-files", "*.md").Output()
	if err != nil {
		t.Skipf("listing the Markdown files: %v (not a git checkout?)", err)
	}
	pages := strings.Fields(string(out))
	if len(pages) == 0 {
		t.Skip("git lists no Markdown files")
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(file string) map[string]bool {
		if a, ok := anchors[file]; ok {
			return a
		}
		b, err := os.ReadFile(file)
		a := map[string]bool{}
		if err == nil {
			for _, h := range headings(string(b)) {
				a[h] = true
			}
		}
		anchors[file] = a
		return a
	}
	checked := 0
	for _, page := range pages {
		file := filepath.Join(root, page)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		for _, l := range links(string(b)) {
			target, frag, _ := strings.Cut(l.target, "#")
			dest := file
			if target != "" {
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(target))
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s:%d: link %q: no such file", page, l.line, l.target)
					continue
				}
			}
			checked++
			if frag != "" && strings.HasSuffix(dest, ".md") && !anchorsOf(dest)[frag] {
				t.Errorf("%s:%d: link %q: %s has no heading #%s", page, l.line, l.target, target, frag)
			}
		}
	}
	if checked == 0 {
		t.Error("no relative link found in any Markdown file: the scan is broken")
	}
}

type link struct {
	line   int
	target string
}

var (
	linkRE = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeRE = regexp.MustCompile("`[^`]*`")
)

// links returns the relative link targets of a Markdown text, outside
// code fences and code spans.
func links(md string) []link {
	var ls []link
	fenced := false
	for i, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, m := range linkRE.FindAllStringSubmatch(codeRE.ReplaceAllString(line, ""), -1) {
			t := m[1]
			if strings.Contains(t, "://") || strings.HasPrefix(t, "mailto:") {
				continue
			}
			ls = append(ls, link{i + 1, t})
		}
	}
	return ls
}

// headings returns the anchors GitHub gives a Markdown text's headings:
// lower case, spaces as hyphens, punctuation other than - and _ dropped,
// a repeated heading numbered -1, -2, ...
func headings(md string) []string {
	var hs []string
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && !strings.ContainsRune("’“”—–…·▸", r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			hs = append(hs, a+"-"+strconv.Itoa(n))
		} else {
			hs = append(hs, a)
		}
		seen[a]++
	}
	return hs
}

// TestArchitectureListsEveryPackage checks that docs/architecture.md's
// table of packages has a row for every package in the tree (every folder
// with Go files that the go tool sees), so that a new package comes with
// its one-line rule: what it owns and what it may import.
func TestArchitectureListsEveryPackage(t *testing.T) {
	root := ".."
	b, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		rows[m[1]] = true
	}
	pkgs := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			pkgs[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages under %s: the walk is broken", len(pkgs), root)
	}
	for p := range pkgs {
		if !rows[p] {
			t.Errorf("docs/architecture.md has no row for package %s (| `%s` | what it owns | what it may import |)", p, p)
		}
	}
	for r := range rows {
		if !pkgs[r] {
			t.Errorf("docs/architecture.md has a row for %s, which is no package", r)
		}
	}
}
