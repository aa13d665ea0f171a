package manifests

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// readUnit parses a systemd unit: [Section] headers, Key=Value lines (repeatable), # and ;
// comments, backslash continuations.
func readUnit(path string) (map[string]map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	unit := map[string]map[string][]string{}
	section := ""
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			unit[section] = map[string][]string{}
		case section == "":
			return nil, fmt.Errorf("%s:%d: %q outside a section", path, i+1, line)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("%s:%d: no = in %q", path, i+1, line)
			}
			unit[section][strings.TrimSpace(k)] = append(unit[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return unit, nil
}

// packagedBinary is packagedPaths' key for the server's binary.
const packagedBinary = "(binary)"

// packagedPaths reads deploy/package/main.go's Go source for where each file of deploy/ is
// installed (the binary under packagedBinary): {Source: deploy("x"), Destination: "/y"} and file(deploy("x"), "/y", mode).
func packagedPaths(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../package/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	deployArg := func(e ast.Expr) string {
		if c, ok := e.(*ast.CallExpr); ok && len(c.Args) == 1 {
			if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "deploy" {
				if lit, ok := c.Args[0].(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					return s
				}
			}
		}
		return ""
	}
	str := func(e ast.Expr) string {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			return s
		}
		return ""
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "file" && len(n.Args) == 3 {
				if src := deployArg(n.Args[0]); src != "" {
					out[src] = str(n.Args[1])
				} else if id, ok := n.Args[0].(*ast.Ident); ok && id.Name == "binary" {
					out[packagedBinary] = str(n.Args[1])
				}
			}
		case *ast.CompositeLit:
			var src, dst string
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Source" {
						src = deployArg(kv.Value)
					} else if ok && k.Name == "Destination" {
						dst = str(kv.Value)
					}
				}
			}
			if src != "" {
				out[src] = dst
			}
		}
		return true
	})
	return out
}

// checkUnit returns what is wrong in a BorderWatch unit: its ExecStart must run borderwatch
// serve where the package puts it, read the environment file the package installs, and set only
// settings the server knows.
func checkUnit(known, pkg map[string]string, path string) []error {
	unit, err := readUnit(path)
	if err != nil {
		return []error{err}
	}
	var errs []error
	svc := unit["Service"]
	exec := svc["ExecStart"]
	if len(exec) != 1 || len(strings.Fields(exec[0])) != 2 || strings.Fields(exec[0])[1] != "serve" {
		errs = append(errs, fmt.Errorf("%s: ExecStart %q, want one: <binary> serve", path, exec))
	} else if bin := strings.Fields(exec[0])[0]; bin != pkg[packagedBinary] {
		errs = append(errs, fmt.Errorf("%s: ExecStart runs %s, but the package installs the binary at %q", path, bin, pkg[packagedBinary]))
	}
	envFile := pkg["systemd/borderwatch.env"]
	if ef := svc["EnvironmentFile"]; len(ef) != 1 || strings.TrimPrefix(ef[0], "-") != envFile || envFile == "" {
		errs = append(errs, fmt.Errorf("%s: EnvironmentFile %q, but the package installs the environment file at %q", path, ef, envFile))
	}
	n := node{where: path + ": [Service] Environment", env: map[string]string{}}
	for _, e := range svc["Environment"] {
		for _, kv := range strings.Fields(e) {
			k, v, _ := strings.Cut(strings.Trim(kv, `"`), "=")
			n.env[k] = v
		}
	}
	return append(errs, checkEnv(known, n)...)
}

func TestSystemdUnit(t *testing.T) {
	const path = "../systemd/borderwatch.service"
	pkg := packagedPaths(t)
	if pkg["systemd/borderwatch.service"] == "" {
		t.Errorf("deploy/package does not install %s (found %v)", path, pkg)
	}
	report(t, checkUnit(settings(t), pkg, path))
}

// TestEnvFiles checks the settings the example environment files set.
func TestEnvFiles(t *testing.T) {
	known := settings(t)
	for _, path := range []string{"../borderwatch.env", generatedEnvFile} {
		env, err := readEnvFile(path)
		if err != nil {
			t.Fatal(err)
		}
		report(t, checkEnv(known, node{where: path, env: env}))
	}
}
