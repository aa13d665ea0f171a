package manifests

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/borderwatch/borderwatch/cluster"
)

// generatedEnvFile is written from config.go's flags by
// go test ./cmd/borderwatch -run TestServiceEnvFile -update, and checked against them by that
// test: its commented-out lines are every setting the server knows, with its default.
const generatedEnvFile = "../systemd/borderwatch.env"

var settingLine = regexp.MustCompile(`^#(BW_[A-Z0-9_]+)=(.*)$`)

var (
	settingsOnce sync.Once
	settingsMap  map[string]string
	settingsErr  error
)

// settings returns the server's settings and their defaults.
func settings(t *testing.T) map[string]string {
	t.Helper()
	settingsOnce.Do(func() {
		f, err := os.Open(generatedEnvFile)
		if err != nil {
			settingsErr = err
			return
		}
		defer f.Close()
		settingsMap = map[string]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := settingLine.FindStringSubmatch(sc.Text()); m != nil {
				settingsMap[m[1]] = m[2]
			}
		}
		settingsErr = sc.Err()
		if settingsErr == nil && len(settingsMap) < 20 {
			settingsErr = fmt.Errorf("%s lists only %d settings", generatedEnvFile, len(settingsMap))
		}
	})
	if settingsErr != nil {
		t.Fatal(settingsErr)
	}
	return settingsMap
}

// node is one BorderWatch process as a deployment file starts it.
type node struct {
	where string // file and service, for the errors
	// env is what the file sets; unknown holds the variables set from somewhere the file does
	// not show (a Secret, the pod's name), whose value is not checked.
	env     map[string]string
	unknown map[string]bool
	// from names the file a variable came from when it is not where, e.g. a compose env_file.
	from map[string]string
}

func (n node) value(known map[string]string, k string) string {
	if v, ok := n.env[k]; ok {
		return v
	}
	return known[k]
}

func (n node) set(k string) bool { _, ok := n.env[k]; return ok || n.unknown[k] }

// roles returns what the node runs: everything alone, its BW_ROLES in a cluster.
func (n node) roles(known map[string]string) []string {
	r, err := cluster.ParseRoles(n.value(known, "BW_ROLES"))
	if err != nil || n.value(known, "BW_NATS_URL") == "" {
		return []string{cluster.RoleGateway, cluster.RoleTracker, cluster.RoleAPI}
	}
	return r
}

// listenAddrs are the node's listeners by variable, for its roles.
var listenAddrs = map[string]string{
	"BW_HTTP_ADDR": "", "BW_JT808_ADDR": cluster.RoleGateway, "BW_GT06_ADDR": cluster.RoleGateway,
	"BW_JT600_ADDR": cluster.RoleGateway, "BW_OSMAND_ADDR": cluster.RoleGateway,
}

// ports returns the TCP ports the node listens on, each with its variable.
func (n node) ports(known map[string]string) (map[int]string, error) {
	roles := n.roles(known)
	out := map[int]string{}
	for k, role := range listenAddrs {
		v := n.value(known, k)
		if v == "" || (role != "" && !slices.Contains(roles, role)) {
			continue
		}
		_, p, err := net.SplitHostPort(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s=%q: %v", n.where, k, v, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %s=%q: port %q", n.where, k, v, p)
		}
		out[port] = k
	}
	return out, nil
}

// checkEnv returns what the server would ignore or refuse in the node's settings.
func checkEnv(known map[string]string, n node) []error {
	var errs []error
	for _, k := range sortedKeys(n.env, n.unknown) {
		if _, ok := known[k]; !ok && strings.HasPrefix(k, "BW_") {
			where := n.where
			if f := n.from[k]; f != "" {
				where += " (env_file " + f + ")"
			}
			errs = append(errs, fmt.Errorf("%s: %s is not a setting of borderwatch serve (the server ignores it; see %s)", where, k, generatedEnvFile))
		}
	}
	if _, err := cluster.ParseRoles(n.value(known, "BW_ROLES")); err != nil {
		errs = append(errs, fmt.Errorf("%s: %v", n.where, err))
	}
	if v := n.value(known, "BW_NATS_URL"); v != "" {
		if _, err := cluster.ParseURLs(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", n.where, err))
		}
		if !n.unknown["BW_DATABASE_URL"] && !strings.HasPrefix(n.value(known, "BW_DATABASE_URL"), "postgres") {
			errs = append(errs, fmt.Errorf("%s: BW_NATS_URL is set but BW_DATABASE_URL=%q is not postgres://: the server refuses to start", n.where, n.value(known, "BW_DATABASE_URL")))
		}
	}
	if g := n.value(known, "BW_GEOFENCE"); g != "" && g != "embedded" && !strings.HasPrefix(g, "tile38://") {
		errs = append(errs, fmt.Errorf("%s: BW_GEOFENCE=%q: the server wants embedded or tile38://host:port", n.where, g))
	}
	if (n.value(known, "BW_TLS_CERT") == "") != (n.value(known, "BW_TLS_KEY") == "") && !n.unknown["BW_TLS_CERT"] && !n.unknown["BW_TLS_KEY"] {
		errs = append(errs, fmt.Errorf("%s: BW_TLS_CERT and BW_TLS_KEY go together", n.where))
	}
	if _, err := n.ports(known); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func sortedKeys(m map[string]string, more map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for k := range more {
		if _, ok := m[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// readEnvFile parses an environment file as systemd and compose read it: KEY=VALUE lines,
// # comments, optional quotes.
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no = in %q", path, i+1, line)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env, nil
}

func report(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Error(err)
	}
}
