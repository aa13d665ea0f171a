package manifests

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/borderwatch/borderwatch/cluster"
)

// composeFile is the part of a compose file the checks read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Command     []string                              `yaml:"command"`
	EnvFile     yaml.Node                             `yaml:"env_file"`
	Environment yaml.Node                             `yaml:"environment"`
	Ports       []string                              `yaml:"ports"`
	DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Secrets []string `yaml:"secrets"`
}

func readCompose(path string) (composeFile, error) {
	var c composeFile
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %v", path, err)
	}
	return c, nil
}

// env returns what the service's env_file and environment set (environment wins), and the
// env_file each variable came from.
func (s composeService) env(dir string) (env, from map[string]string, err error) {
	var files []string
	switch s.EnvFile.Kind {
	case yaml.ScalarNode:
		files = []string{s.EnvFile.Value}
	case yaml.SequenceNode:
		if err := s.EnvFile.Decode(&files); err != nil {
			return nil, nil, err
		}
	}
	env, from = map[string]string{}, map[string]string{}
	for _, f := range files {
		e, err := readEnvFile(filepath.Join(dir, f))
		if err != nil {
			return nil, nil, err
		}
		for k, v := range e {
			env[k], from[k] = v, f
		}
	}
	switch s.Environment.Kind {
	case yaml.MappingNode:
		var m map[string]*string
		if err := s.Environment.Decode(&m); err != nil {
			return nil, nil, err
		}
		for k, v := range m {
			if v != nil {
				env[k] = *v
				delete(from, k)
			}
		}
	case yaml.SequenceNode:
		var l []string
		if err := s.Environment.Decode(&l); err != nil {
			return nil, nil, err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
			delete(from, k)
		}
	}
	return env, from, nil
}

// isBorderWatch tells BorderWatch's services by what they run.
func (s composeService) isBorderWatch() bool {
	return len(s.Command) > 0 && s.Command[0] == "serve"
}

// containerPort returns the container's side of a ports entry ("8080:8080", "127.0.0.1:80:8080/tcp").
func containerPort(spec string) (int, error) {
	parts := strings.Split(strings.TrimSuffix(spec, "/tcp"), ":")
	return strconv.Atoi(parts[len(parts)-1])
}

// composeNodes returns the BorderWatch services of a compose file, by service name.
func composeNodes(path string, c composeFile) (map[string]node, []error) {
	var errs []error
	nodes := map[string]node{}
	for name, s := range c.Services {
		if !s.isBorderWatch() {
			continue
		}
		env, from, err := s.env(filepath.Dir(path))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: service %s: %v", path, name, err))
			continue
		}
		nodes[name] = node{where: fmt.Sprintf("%s: service %s", path, name), env: env, from: from}
	}
	return nodes, errs
}

// checkCompose returns what would break in a compose file: the nodes' settings, their
// published ports, and dependencies started before they are ready.
func checkCompose(known map[string]string, path string) []error {
	c, err := readCompose(path)
	if err != nil {
		return []error{err}
	}
	if len(c.Services) == 0 {
		return []error{fmt.Errorf("%s: no services", path)}
	}
	nodes, errs := composeNodes(path, c)
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		n := nodes[name]
		errs = append(errs, checkEnv(known, n)...)
		listen, err := n.ports(known)
		if err != nil {
			continue
		}
		for _, p := range c.Services[name].Ports {
			cp, err := containerPort(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: ports %q: %v", n.where, p, err))
			} else if listen[cp] == "" {
				errs = append(errs, fmt.Errorf("%s: publishes container port %d, on which the node does not listen (its listeners: %v)", n.where, cp, listen))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		if err := checkDatabaseLogin(path, c, name, nodes[name]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		s := c.Services[name]
		for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
			d := s.DependsOn[dep]
			target, ok := c.Services[dep]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s: service %s depends on %s, which is not a service", path, name, dep))
			case d.Condition != "service_healthy" || target.Healthcheck == nil:
				errs = append(errs, fmt.Errorf("%s: service %s depends on %s with condition %q: it starts before %s is ready (want service_healthy and a healthcheck on %s)", path, name, dep, d.Condition, dep, dep))
			}
		}
	}
	return errs
}

// checkDatabaseLogin wants a node whose database is a service of the file that asks for a
// password (POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, not trust) to have one: in
// BW_DATABASE_URL, or in a passfile (libpq's format, which pgx reads) that is a secret of the node.
func checkDatabaseLogin(path string, c composeFile, name string, n node) error {
	u, err := url.Parse(n.env["BW_DATABASE_URL"])
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return nil
	}
	db, ok := c.Services[u.Hostname()]
	if !ok {
		return nil
	}
	env, _, err := db.env(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("%s: service %s: %v", path, u.Hostname(), err)
	}
	if env["POSTGRES_HOST_AUTH_METHOD"] == "trust" || (env["POSTGRES_PASSWORD"] == "" && env["POSTGRES_PASSWORD_FILE"] == "") {
		return nil
	}
	if _, ok := u.User.Password(); ok {
		return nil
	}
	pf := u.Query().Get("passfile")
	if secret, ok := strings.CutPrefix(pf, "/run/secrets/"); ok && slices.Contains(c.Services[name].Secrets, secret) {
		return nil
	}
	return fmt.Errorf("%s: service %s: BW_DATABASE_URL %q has no password and no passfile among its secrets, but %s asks for one: the node cannot log in", path, name, u.Redacted(), u.Hostname())
}

func composeFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../compose/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("compose files: %v %v", files, err)
	}
	return files
}

func TestComposeFiles(t *testing.T) {
	known := settings(t)
	for _, f := range composeFiles(t) {
		report(t, checkCompose(known, f))
	}
}

// flagValue returns the argument after flag in a command line.
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// TestComposeCluster checks the cluster on one host: 3 NATS JetStream servers routed to each
// other in one cluster, 3 nodes with their own names on all of them, each role on two nodes so
// that losing one node loses no role.
func TestComposeCluster(t *testing.T) {
	const path = "../compose/cluster.yaml"
	known := settings(t)
	c, err := readCompose(path)
	if err != nil {
		t.Fatal(err)
	}
	var natsNames []string
	for name, s := range c.Services {
		if len(s.Command) > 0 && s.Command[0] == "-c" {
			natsNames = append(natsNames, name)
		}
	}
	slices.Sort(natsNames)
	if len(natsNames) != 3 {
		t.Fatalf("%s: NATS servers %v, want 3", path, natsNames)
	}
	for _, name := range natsNames {
		args := c.Services[name].Command
		if !slices.Contains(args, "-js") {
			t.Errorf("%s: %s runs without JetStream (-js)", path, name)
		}
		if flagValue(args, "--cluster_name") == "" || flagValue(args, "--cluster_name") != flagValue(c.Services[natsNames[0]].Command, "--cluster_name") {
			t.Errorf("%s: %s: --cluster_name %q differs", path, name, flagValue(args, "--cluster_name"))
		}
		if flagValue(args, "--name") != name {
			t.Errorf("%s: %s: --name %q, want the service's name", path, name, flagValue(args, "--name"))
		}
		routes := strings.Split(flagValue(args, "--routes"), ",")
		for _, other := range natsNames {
			if other != name && !slices.Contains(routes, "nats://"+other+":6222") {
				t.Errorf("%s: %s does not route to %s (--routes %v)", path, name, other, routes)
			}
		}
		if c.Services[name].Healthcheck == nil {
			t.Errorf("%s: %s has no healthcheck: the nodes cannot wait for JetStream", path, name)
		}
	}
	nodes, errs := composeNodes(path, c)
	report(t, errs)
	if len(nodes) != 3 {
		t.Fatalf("%s: %d BorderWatch nodes, want 3", path, len(nodes))
	}
	names := map[string]string{}
	perRole := map[string]int{}
	for svc, n := range nodes {
		name := n.value(known, "BW_NODE_NAME")
		if name == "" || names[name] != "" {
			t.Errorf("%s: BW_NODE_NAME %q empty or shared by %s and %s", path, name, names[name], svc)
		}
		names[name] = svc
		urls := strings.Split(n.value(known, "BW_NATS_URL"), ",")
		for _, nats := range natsNames {
			if !slices.Contains(urls, "nats://"+nats+":4222") {
				t.Errorf("%s: BW_NATS_URL %v lacks %s", n.where, urls, nats)
			}
		}
		for _, r := range n.roles(known) {
			perRole[r]++
		}
	}
	for _, r := range []string{cluster.RoleGateway, cluster.RoleTracker, cluster.RoleAPI} {
		if perRole[r] < 2 {
			t.Errorf("%s: role %s runs on %d node(s): losing one loses it (want 2 or more)", path, r, perRole[r])
		}
	}
}
