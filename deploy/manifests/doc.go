// Package manifests holds no code: its tests read the deployment files under deploy/ with real
// parsers (YAML, the NATS configuration format, systemd units, env files, the packager's Go
// source) and check what an operator would get wrong or what would silently break, since no
// docker daemon or Kubernetes cluster runs the files in CI:
//
//   - every BW_* variable set in a compose file, a Kubernetes ConfigMap or container, a systemd
//     unit or an env file is a setting of borderwatch serve (deploy/systemd/borderwatch.env,
//     generated from cmd/borderwatch/config.go, lists them): the server ignores a misspelt one;
//   - the values the server refuses at start: BW_ROLES outside gateway, tracker, api; BW_NATS_URL
//     without a postgres:// BW_DATABASE_URL; BW_GEOFENCE neither embedded nor tile38://;
//   - the ports of BW_*_ADDR are the ports the container exposes and the probes and Services use;
//   - Kubernetes: every BorderWatch pod is ready on /readyz on its HTTP port, requests CPU and
//     memory, and a PodDisruptionBudget that can be satisfied covers every workload of several
//     replicas; NATS is a StatefulSet of 3 with JetStream, routed to each other;
//   - compose: a dependency is waited for by its healthcheck; the cluster file has 3 NATS
//     servers routed to each other and 3 nodes with distinct names, each role on two of them;
//   - systemd: ExecStart runs borderwatch serve from where the package installs it, reading
//     the environment file where the package installs it.
package manifests
