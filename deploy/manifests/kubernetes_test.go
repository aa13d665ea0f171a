package manifests

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/conf"
	"go.yaml.in/yaml/v3"
)

// object is one Kubernetes object, the fields the checks read.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas    *int      `yaml:"replicas"`
		ServiceName string    `yaml:"serviceName"`
		Selector    yaml.Node `yaml:"selector"`
		Template    struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		// PodDisruptionBudget
		MinAvailable   *int `yaml:"minAvailable"`
		MaxUnavailable *int `yaml:"maxUnavailable"`
		// Service
		Ports []struct {
			Name       string    `yaml:"name"`
			TargetPort yaml.Node `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type container struct {
	Name    string   `yaml:"name"`
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name      string  `yaml:"name"`
		Value     *string `yaml:"value"`
		ValueFrom any     `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *struct {
		HTTPGet *struct {
			Path string    `yaml:"path"`
			Port yaml.Node `yaml:"port"`
		} `yaml:"httpGet"`
	} `yaml:"readinessProbe"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
}

func readObjects(path string) ([]object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var objs []object
	dec := yaml.NewDecoder(f)
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: object %d: %v", path, len(objs)+1, err)
		}
		if o.Kind == "" {
			return nil, fmt.Errorf("%s: object %d has no kind", path, len(objs)+1)
		}
		objs = append(objs, o)
	}
}

// matchLabels returns a selector's labels, in a workload's or a PDB's form ({matchLabels: …}) or
// a Service's (the labels themselves).
func matchLabels(n yaml.Node, kind string) (map[string]string, error) {
	var m map[string]string
	if kind == "Service" {
		return m, n.Decode(&m)
	}
	var s struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	return s.MatchLabels, n.Decode(&s)
}

func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// portOf resolves a probe's or Service's port, by name or number, among a container's ports.
func portOf(c container, n yaml.Node) int {
	for _, p := range c.Ports {
		if p.Name == n.Value || fmt.Sprint(p.ContainerPort) == n.Value {
			return p.ContainerPort
		}
	}
	return 0
}

// checkKubernetes returns what would break in a Kubernetes file.
func checkKubernetes(known map[string]string, path string) []error {
	objs, err := readObjects(path)
	if err != nil {
		return []error{err}
	}
	var errs []error
	configMaps := map[string]map[string]string{}
	for _, o := range objs {
		if o.Kind == "ConfigMap" {
			configMaps[o.Metadata.Name] = o.Data
		}
	}
	var pdbs, services []object
	for _, o := range objs {
		switch o.Kind {
		case "PodDisruptionBudget":
			pdbs = append(pdbs, o)
		case "Service":
			services = append(services, o)
		}
	}
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			continue
		}
		where := fmt.Sprintf("%s: %s %s", path, o.Kind, o.Metadata.Name)
		labels := o.Spec.Template.Metadata.Labels
		sel, err := matchLabels(o.Spec.Selector, o.Kind)
		if err != nil || !selects(sel, labels) {
			errs = append(errs, fmt.Errorf("%s: selector %v does not select its pods' labels %v", where, sel, labels))
		}
		replicas := 1
		if o.Spec.Replicas != nil {
			replicas = *o.Spec.Replicas
		}
		// One replica cannot stay up through a drain: a budget would only block it.
		if replicas > 1 {
			errs = append(errs, checkBudget(path, where, replicas, labels, pdbs)...)
		}
		for _, c := range o.Spec.Template.Spec.Containers {
			cw := fmt.Sprintf("%s container %s", where, c.Name)
			if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
				errs = append(errs, fmt.Errorf("%s: no cpu and memory requests: the scheduler packs it anywhere", cw))
			}
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
				errs = append(errs, fmt.Errorf("%s: no HTTP readiness probe: traffic reaches it before it is ready", cw))
			}
			if !slices.Equal(c.Args, []string{"serve"}) {
				continue
			}
			n := node{where: cw, env: map[string]string{}, unknown: map[string]bool{}}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef == nil {
					continue
				}
				data, ok := configMaps[ef.ConfigMapRef.Name]
				if !ok {
					errs = append(errs, fmt.Errorf("%s: envFrom ConfigMap %s is not in the file", cw, ef.ConfigMapRef.Name))
				}
				for k, v := range data {
					n.env[k] = v
				}
			}
			for _, e := range c.Env {
				if e.Value != nil {
					n.env[e.Name] = *e.Value
				} else {
					delete(n.env, e.Name)
					n.unknown[e.Name] = true
				}
			}
			errs = append(errs, checkEnv(known, n)...)
			listen, err := n.ports(known)
			if err != nil {
				continue
			}
			if p := c.ReadinessProbe; p != nil && p.HTTPGet != nil {
				port := portOf(c, p.HTTPGet.Port)
				if p.HTTPGet.Path != "/readyz" || listen[port] != "BW_HTTP_ADDR" {
					errs = append(errs, fmt.Errorf("%s: readiness probe on %s port %q (%d): want /readyz on BW_HTTP_ADDR's port", cw, p.HTTPGet.Path, p.HTTPGet.Port.Value, port))
				}
			}
			for _, p := range c.Ports {
				if listen[p.ContainerPort] == "" {
					errs = append(errs, fmt.Errorf("%s: containerPort %s %d: the node does not listen there (its listeners: %v)", cw, p.Name, p.ContainerPort, listen))
				}
			}
			for port, k := range listen {
				if !slices.ContainsFunc(c.Ports, func(p struct {
					Name          string `yaml:"name"`
					ContainerPort int    `yaml:"containerPort"`
				}) bool {
					return p.ContainerPort == port
				}) {
					errs = append(errs, fmt.Errorf("%s: %s listens on %d, which is not among its containerPorts", cw, k, port))
				}
			}
		}
	}
	errs = append(errs, checkServices(path, objs, services)...)
	return errs
}

// checkBudget wants one PodDisruptionBudget over the workload's pods that a drain can satisfy.
func checkBudget(path, where string, replicas int, labels map[string]string, pdbs []object) []error {
	var found int
	var errs []error
	for _, p := range pdbs {
		sel, err := matchLabels(p.Spec.Selector, p.Kind)
		if err != nil || !selects(sel, labels) {
			continue
		}
		found++
		if p.Spec.MinAvailable != nil && *p.Spec.MinAvailable >= replicas || p.Spec.MaxUnavailable != nil && *p.Spec.MaxUnavailable < 1 {
			errs = append(errs, fmt.Errorf("%s: PodDisruptionBudget %s lets no pod of %d go: drains block", where, p.Metadata.Name, replicas))
		}
	}
	if found != 1 {
		errs = append(errs, fmt.Errorf("%s: %d PodDisruptionBudgets select its pods, want 1", where, found))
	}
	return errs
}

// checkServices wants every Service to select pods that have the ports it targets.
func checkServices(path string, objs, services []object) []error {
	var errs []error
	for _, s := range services {
		sel, err := matchLabels(s.Spec.Selector, "Service")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: Service %s: selector: %v", path, s.Metadata.Name, err))
			continue
		}
		var pods int
		for _, o := range objs {
			if (o.Kind != "Deployment" && o.Kind != "StatefulSet") || !selects(sel, o.Spec.Template.Metadata.Labels) {
				continue
			}
			pods++
			for _, sp := range s.Spec.Ports {
				target := sp.TargetPort
				if target.Value == "" {
					continue
				}
				if !slices.ContainsFunc(o.Spec.Template.Spec.Containers, func(c container) bool { return portOf(c, target) != 0 }) {
					errs = append(errs, fmt.Errorf("%s: Service %s port %s targets %q, which %s %s does not expose", path, s.Metadata.Name, sp.Name, target.Value, o.Kind, o.Metadata.Name))
				}
			}
		}
		if pods == 0 {
			errs = append(errs, fmt.Errorf("%s: Service %s selects no pods (%v)", path, s.Metadata.Name, sel))
		}
	}
	return errs
}

func TestKubernetesFiles(t *testing.T) {
	known := settings(t)
	files, err := filepath.Glob("../kubernetes/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("kubernetes files: %v %v", files, err)
	}
	for _, f := range files {
		report(t, checkKubernetes(known, f))
	}
}

// TestKubernetesNATS checks the cluster's NATS: a StatefulSet of 3 whose configuration (read by
// NATS's own parser) has JetStream and routes to the 3 pods, which BW_NATS_URL names.
func TestKubernetesNATS(t *testing.T) {
	const path = "../kubernetes/cluster.yaml"
	objs, err := readObjects(path)
	if err != nil {
		t.Fatal(err)
	}
	var sts *object
	configMaps := map[string]map[string]string{}
	for i, o := range objs {
		if o.Kind == "StatefulSet" && o.Metadata.Name == "nats" {
			sts = &objs[i]
		}
		if o.Kind == "ConfigMap" {
			configMaps[o.Metadata.Name] = o.Data
		}
	}
	if sts == nil || sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
		t.Fatalf("%s: want a StatefulSet nats of 3 replicas, have %+v", path, sts)
	}
	t.Setenv("POD_NAME", "nats-0")
	cfg, err := conf.Parse(configMaps["nats"]["nats.conf"])
	if err != nil {
		t.Fatalf("%s: ConfigMap nats: nats.conf: %v", path, err)
	}
	if _, ok := cfg["jetstream"].(map[string]any); !ok {
		t.Errorf("%s: nats.conf has no jetstream block", path)
	}
	cl, _ := cfg["cluster"].(map[string]any)
	routes, _ := cl["routes"].([]any)
	var pods []string
	for i := range *sts.Spec.Replicas {
		pod := fmt.Sprintf("nats-%d.%s", i, sts.Spec.ServiceName)
		pods = append(pods, "nats://"+pod+":4222")
		if !slices.Contains(routes, any("nats://"+pod+":6222")) {
			t.Errorf("%s: nats.conf's routes %v lack %s", path, routes, pod)
		}
	}
	urls := strings.Split(configMaps["borderwatch-cluster"]["BW_NATS_URL"], ",")
	if !slices.Equal(urls, pods) {
		t.Errorf("%s: BW_NATS_URL %v, want the 3 servers %v", path, urls, pods)
	}
}
