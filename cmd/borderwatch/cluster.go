package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/borderwatch/borderwatch/cluster"
	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/rules"
)

// clusterRoles checks the cluster settings before anything opens: a cluster shares one
// PostgreSQL store, and the roles and URLs must parse. It returns the roles (nil alone).
func clusterRoles(cfg config) ([]string, error) {
	if cfg.NATSURL == "" {
		return nil, nil
	}
	if sqlitePath(cfg) != "" || !strings.HasPrefix(cfg.DatabaseURL, "postgres") {
		return nil, errors.New("BW_NATS_URL is set but BW_DATABASE_URL is not a postgres:// URL: the nodes of a cluster share one PostgreSQL store (the embedded SQLite store belongs to one process); set BW_DATABASE_URL=postgres://… on every node, or unset BW_NATS_URL to run alone")
	}
	if _, err := cluster.ParseURLs(cfg.NATSURL); err != nil {
		return nil, err
	}
	return cluster.ParseRoles(cfg.Roles)
}

// hasRole reports whether this process runs role: always alone, as listed in a cluster.
func (a *app) hasRole(role string) bool {
	return a.roles == nil || slices.Contains(a.roles, role)
}

// dialCluster joins the cluster named by BW_NATS_URL.
func (a *app) dialCluster(ctx context.Context) error {
	urls, err := cluster.ParseURLs(a.cfg.NATSURL)
	if err != nil {
		return err
	}
	if a.cfg.NodeName == "" {
		if a.cfg.NodeName, err = os.Hostname(); err != nil {
			return fmt.Errorf("BW_NODE_NAME is empty and the host name unknown: %w", err)
		}
	}
	// A cluster's store is PostgreSQL (clusterRoles): its change log is the backstop to the
	// change notices.
	changeLog, _ := a.store.(cluster.ChangeLog)
	a.cluster, err = cluster.Dial(ctx, cluster.Config{
		URLs: urls, Node: a.cfg.NodeName, Roles: a.roles, Partitions: a.cfg.Partitions,
		Logger: a.log.With("node", a.cfg.NodeName), Registerer: a.reg, ChangeLog: changeLog,
	})
	if err != nil {
		return err
	}
	a.log.Info("joined the cluster", "node", a.cfg.NodeName, "roles", strings.Join(a.roles, ","), "partitions", a.cluster.Partitions())
	return nil
}

// owns says whether this process evaluates the vehicle (its timers run here): alone, every
// vehicle; in a cluster, those of the partitions its tracker owns.
func (a *app) owns(vehicleID string) bool {
	if a.cluster == nil {
		return true
	}
	return a.tracker != nil && a.tracker.Owns(vehicleID)
}

// newTracker makes the tracker of a cluster node with the tracker role.
func (a *app) newTracker() {
	a.replay = cluster.NewReplay(a.rules, a.cfg.Now, a.log)
	a.tracker = cluster.NewTracker(a.cluster, cluster.TrackerConfig{
		Pipeline: a.pipeline,
		Replay:   a.replay,
		State:    cluster.RulesState{Rules: a.rules, Pipeline: a.pipeline},
		Store:    a.store.(cluster.Store), // PostgreSQL's, as every cluster's (clusterRoles)
		Judge:    clusterJudge{a.rules, judgedEvents{a.rules, a.pipeline}, a.store},
	})
}

// clusterJudge judges and commits, for the vehicles of the partitions this tracker owns, the gate
// reads, terminal reports and weighbridge readings other nodes received.
type clusterJudge struct {
	*rules.Engine
	judgedEvents
	weighings mapui.WeighingStore
}

// CommitWeighing judges the reading against the trip this owner follows, stores it and commits
// what it raises, as a node alone does.
func (j clusterJudge) CommitWeighing(ctx context.Context, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error) {
	return mapui.CommitWeighing(ctx, j.Engine, j.weighings, j.pipeline, w)
}

// runCluster starts the node's part of the cluster: its announcements, its tracker, the live
// updates for its hub and the registry's changes for its rules. They stop with ctx.
func (a *app) runCluster(ctx context.Context) (trackerDone <-chan struct{}, err error) {
	go a.cluster.Heartbeat(ctx, a.tracker)
	if a.hasRole(cluster.RoleAPI) {
		// Targeting fires orders on arrivals from every api node's feed; an order's changes are
		// compare-and-set in the store (tracker.ErrStale), so one node's firing wins.
		if err := a.cluster.SubscribeLive(ctx, publishers{a.hub, a.risk, a.targets}); err != nil {
			return nil, err
		}
	}
	if err := a.cluster.SubscribeChanges(ctx, cluster.Changes{
		Zones: func(ctx context.Context) {
			zs, err := a.store.Zones(ctx)
			if err == nil {
				a.rules.ZonesChanged(zs)
				a.targets.SetZones(zs)
				err = a.engine.SetZones(ctx, zs)
			}
			if err != nil && ctx.Err() == nil {
				a.log.Error("reloading zones changed on another node", "err", err)
			}
		},
		Declaration: a.rules.DeclarationChanged,
		Vehicle:     a.rules.VehicleChanged,
	}); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	if a.tracker == nil {
		close(done)
		return done, nil
	}
	go func() {
		defer close(done)
		a.tracker.Run(ctx)
	}()
	return done, nil
}

// clusterStatus is GET /api/v1/cluster.
func (a *app) clusterStatus(ctx context.Context) (any, error) {
	return a.cluster.Status(ctx)
}

// changeNotices wraps the API's change callbacks: the change is applied here, then told to
// the other nodes (each applies it within the notice's travel time).
func (a *app) changeNotices(zones func(context.Context, []geofence.Zone) error) (
	func(context.Context, []geofence.Zone) error, func(context.Context, tracker.Declaration), func(context.Context, tracker.Vehicle)) {
	if a.cluster == nil {
		return zones, a.rules.DeclarationChanged, a.rules.VehicleChanged
	}
	warn := func(what string, err error) {
		if err != nil {
			a.log.Error("telling the other nodes of a change failed; they see it at their next start or zone notice", "change", what, "err", err)
		}
	}
	return func(ctx context.Context, zs []geofence.Zone) error {
			if err := zones(ctx, zs); err != nil {
				return err
			}
			warn("zones", a.cluster.ZonesChanged(zs))
			return nil
		}, func(ctx context.Context, d tracker.Declaration) {
			a.rules.DeclarationChanged(ctx, d)
			warn("declaration "+d.ID, a.cluster.DeclarationChanged(d))
		}, func(ctx context.Context, v tracker.Vehicle) {
			a.rules.VehicleChanged(ctx, v)
			warn("vehicle "+v.ID, a.cluster.VehicleChanged(v))
		}
}

// clusterReady is the cluster's part of /readyz.
func (a *app) clusterReady() error {
	if a.cluster == nil {
		return nil
	}
	if err := a.cluster.Connected(); err != nil {
		a.log.Warn("not ready: NATS", "err", err)
		return fmt.Errorf("cluster: NATS not connected")
	}
	return nil
}
