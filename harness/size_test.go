package harness_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// The size limits of issue 11: a file or function past them is a knot
// waiting to happen. The harness is held tighter than the rest.
var sizeLimits = []struct {
	dir                  string // from the repository's root; "" for everywhere
	fileLines, funcLines int
}{
	{dir: "harness", fileLines: 500, funcLines: 80},
	{dir: "", fileLines: 600, funcLines: 100},
}

// TestSizes fails for a non-test Go file, anywhere in the repository,
// longer than its limit, or holding a function longer than its limit.
func TestSizes(t *testing.T) {
	root := ".."
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		fileMax, funcMax := limitsFor(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if n := fset.File(f.Pos()).LineCount(); n > fileMax {
			t.Errorf("%s: %d lines, want at most %d", rel, n, fileMax)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n > funcMax {
				t.Errorf("%s: func %s: %d lines, want at most %d", rel, funcName(fn), n, funcMax)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func limitsFor(rel string) (fileLines, funcLines int) {
	for _, l := range sizeLimits {
		if l.dir == "" || strings.HasPrefix(rel, l.dir+string(filepath.Separator)) {
			return l.fileLines, l.funcLines
		}
	}
	return 0, 0
}

func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return fmt.Sprintf("(%s).%s", types(fn.Recv.List[0].Type), fn.Name.Name)
}

func types(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return "*" + types(x.X)
	case *ast.Ident:
		return x.Name
	case *ast.IndexExpr:
		return types(x.X)
	}
	return "?"
}
