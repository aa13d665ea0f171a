package manifests

import (
	"errors"
	"strings"
	"testing"
)

// TestAttacks feeds the checks files with the mistakes they exist for: each must be reported
// with the file, the service and the variable an operator needs to find it.
func TestAttacks(t *testing.T) {
	known := settings(t)
	pkg := packagedPaths(t)
	for _, tc := range []struct {
		name  string
		errs  []error
		wants []string
	}{
		{"compose typo", checkCompose(known, "testdata/typo-compose.yaml"), []string{
			"testdata/typo-compose.yaml: service bw-a: BW_NATS_URLS is not a setting",
			"testdata/typo-compose.yaml: service bw-a: BW_DATABASE_URL \"postgres://db/borderwatch\" has no password",
		}},
		{"kubernetes typo", checkKubernetes(known, "testdata/typo-kubernetes.yaml"), []string{
			"testdata/typo-kubernetes.yaml: Deployment borderwatch-tracker container borderwatch: BW_ROLE is not a setting",
		}},
		{"compose values", checkCompose(known, "testdata/values-compose.yaml"), []string{
			`service bw-a: BW_ROLES: unknown role "ingest"`,
			"service bw-a: BW_NATS_URL is set but BW_DATABASE_URL",
			`service bw-a: BW_GEOFENCE="redis://geo:6379"`,
			"service bw-a: publishes container port 9000",
			`service bw-a depends on db with condition "service_started"`,
		}},
		{"kubernetes values", checkKubernetes(known, "testdata/values-kubernetes.yaml"), []string{
			`container borderwatch: BW_ROLES: unknown role "web"`,
			"container borderwatch: readiness probe on /healthz",
			"container borderwatch: containerPort http 8080: the node does not listen there",
			"container borderwatch: BW_HTTP_ADDR listens on 9090",
			"container borderwatch: no cpu and memory requests",
			"PodDisruptionBudget borderwatch-api lets no pod of 2 go",
			`Service borderwatch-http port http targets "web"`,
		}},
		{"systemd", checkUnit(known, pkg, "testdata/wrong.service"), []string{
			"testdata/wrong.service: ExecStart",
			"testdata/wrong.service: EnvironmentFile",
			"testdata/wrong.service: [Service] Environment: BW_DATADIR is not a setting",
		}},
	} {
		got := errors.Join(tc.errs...)
		if got == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(got.Error(), w) {
				t.Errorf("%s: no error has %q; got:\n%v", tc.name, w, got)
			}
		}
	}
}
