package otp

import (
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// bannedRand are the imports R4 forbids in code that makes secrets.
var bannedRand = map[string]bool{"math/rand": true, "math/rand/v2": true}

// TestNoMathRandInAuthCode_R4 is our forbidigo: no non-test Go file under
// portal/ or push/ (the code that makes codes, tokens and challenges)
// imports math/rand or math/rand/v2. It parses imports with go/parser.
func TestNoMathRandInAuthCode_R4(t *testing.T) {
	root := moduleRoot(t)
	bad, checked, err := findImports(root, []string{"portal", "push"}, bannedRand)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s (R4: use crypto/rand)", b)
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: is the walk looking in the right place?", checked)
	}
}

// TestFindImportsCatchesAliases_R4 proves the walker above: an aliased
// import in a nested package is found, a _test.go file and testdata are not
// counted.
func TestFindImportsCatchesAliases_R4(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("portal/a/a.go", "package a\nimport mrand \"math/rand/v2\"\nvar _ = mrand.N[int]\n")
	write("portal/a/ok.go", "package a\nimport \"crypto/rand\"\nvar _ = rand.Reader\n")
	write("portal/a/a_test.go", "package a\nimport \"math/rand\"\n")
	write("portal/a/testdata/x.go", "package x\nimport \"math/rand\"\n")
	write("push/b.go", "package push\nimport (\n\t\"fmt\"\n\t\"math/rand\"\n)\n")
	bad, checked, err := findImports(root, []string{"portal", "push"}, bannedRand)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join("portal", "a", "a.go") + " imports math/rand/v2",
		filepath.Join("push", "b.go") + " imports math/rand",
	}
	if strings.Join(bad, "\n") != strings.Join(want, "\n") || checked != 3 {
		t.Fatalf("findImports = %q (%d files), want %q (3 files)", bad, checked, want)
	}
}

// findImports parses the imports of every non-test .go file under root/dirs
// (skipping testdata and dot directories) and lists the banned ones.
func findImports(root string, dirs []string, banned map[string]bool) (bad []string, checked int, err error) {
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, err := strconv.Unquote(imp.Path.Value)
				if err != nil {
					return err
				}
				if banned[p] {
					rel, _ := filepath.Rel(root, path)
					bad = append(bad, rel+" imports "+p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return bad, checked, nil
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}
