package apidocs_test

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The package whose imports make up the server, and the module.
const serverPackage = "internal/server"

// sourceTree reads the Go source of the module's packages, to find the
// route patterns the server registers on its ServeMux.
type sourceTree struct {
	fset   *token.FileSet
	root   string // module directory
	module string // module path
	pkgs   map[string]*sourcePackage
}

// sourcePackage is one package's non-test files and its constants.
type sourcePackage struct {
	dir    string
	files  []*ast.File
	consts map[string]constDecl
}

// constDecl is the value of a constant and the file that declares it.
type constDecl struct {
	value ast.Expr
	file  *ast.File
}

func newSourceTree(t *testing.T) *sourceTree {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	module := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "module "); ok {
			module = strings.TrimSpace(m)
			break
		}
	}
	if module == "" {
		t.Fatal("go.mod names no module")
	}
	return &sourceTree{fset: token.NewFileSet(), root: dir, module: module, pkgs: map[string]*sourcePackage{}}
}

// load parses the non-test files of the package with import path
// importPath, once.
func (s *sourceTree) load(importPath string) (*sourcePackage, error) {
	if p, ok := s.pkgs[importPath]; ok {
		return p, nil
	}
	rel, ok := strings.CutPrefix(importPath, s.module+"/")
	if !ok {
		return nil, fmt.Errorf("%s is not in module %s", importPath, s.module)
	}
	p := &sourcePackage{dir: filepath.Join(s.root, rel), consts: map[string]constDecl{}}
	names, err := filepath.Glob(filepath.Join(p.dir, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(s.fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						p.consts[name.Name] = constDecl{vs.Values[i], f}
					}
				}
			}
		}
	}
	s.pkgs[importPath] = p
	return p, nil
}

// imports returns the module-internal packages file imports, by the name
// the file uses for them.
func (s *sourceTree) imports(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range f.Imports {
		importPath, _ := strconv.Unquote(imp.Path.Value)
		if !strings.HasPrefix(importPath, s.module+"/") {
			continue
		}
		name := path.Base(importPath)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = importPath
	}
	return out
}

// constant evaluates a constant string expression of package p, as used
// in file f: literals, constants of p or of module packages, and "+".
func (s *sourceTree) constant(p *sourcePackage, f *ast.File, e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		v, err := strconv.Unquote(e.Value)
		return v, err == nil
	case *ast.ParenExpr:
		return s.constant(p, f, e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok1 := s.constant(p, f, e.X)
		y, ok2 := s.constant(p, f, e.Y)
		return x + y, ok1 && ok2
	case *ast.Ident:
		if c, ok := p.consts[e.Name]; ok {
			return s.constant(p, c.file, c.value)
		}
	case *ast.SelectorExpr:
		pkgName, ok := e.X.(*ast.Ident)
		if !ok {
			return "", false
		}
		importPath, ok := s.imports(f)[pkgName.Name]
		if !ok {
			return "", false
		}
		other, err := s.load(importPath)
		if err != nil {
			return "", false
		}
		if c, ok := other.consts[e.Sel.Name]; ok {
			return s.constant(other, c.file, c.value)
		}
	}
	return "", false
}

// serverRoutes returns every route pattern registered with HandleFunc or
// Handle in the packages the server is built from, with where each is
// registered. A HandleFunc whose pattern is not a constant is an error:
// the test could not see it.
func serverRoutes(t *testing.T) map[string]string {
	t.Helper()
	s := newSourceTree(t)
	routes := map[string]string{}
	queue := []string{s.module + "/" + serverPackage}
	seen := map[string]bool{queue[0]: true}
	for len(queue) > 0 {
		importPath := queue[0]
		queue = queue[1:]
		p, err := s.load(importPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range p.files {
			for _, dep := range s.imports(f) {
				if !seen[dep] {
					seen[dep] = true
					queue = append(queue, dep)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
					return true
				}
				pattern, ok := s.constant(p, f, call.Args[0])
				where := s.fset.Position(call.Pos()).String()
				switch {
				case ok && strings.HasPrefix(pattern, "/debug/pprof/"):
					// Go's profiles, served only on the listener of
					// --pprof, apart from the API.
				case ok && strings.Contains(pattern, "/"):
					routes[muxPattern(pattern)] = where
				case !ok && sel.Sel.Name == "HandleFunc":
					t.Errorf("%s: the route pattern is not a constant expression, so this test cannot check it", where)
				}
				return true
			})
		}
	}
	return routes
}

func TestRoutesMatchSpec(t *testing.T) {
	doc := loadSpec(t)
	documented := map[string]bool{}
	for _, r := range specRoutes(doc) {
		documented[r] = true
	}
	registered := serverRoutes(t)
	if len(registered) < 20 {
		t.Fatalf("found only %d routes in the server's source: %v", len(registered), registered)
	}
	var missing, extra []string
	for r, where := range registered {
		if !documented[r] {
			missing = append(missing, r+" (registered at "+where+")")
		}
	}
	for r := range documented {
		if _, ok := registered[r]; !ok {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, r := range missing {
		t.Errorf("route %s is not in openapi.yaml", r)
	}
	for _, r := range extra {
		t.Errorf("openapi.yaml documents %s, which the server does not register", r)
	}
}
