package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// heartbeatEvery is how often a node announces itself; it is forgotten after three missed.
const heartbeatEvery = 2 * time.Second

// NodeStatus is what a node announces of itself.
type NodeStatus struct {
	Node    string    `json:"node"`
	Roles   []string  `json:"roles"`
	Started time.Time `json:"started"`
	Seen    time.Time `json:"seen"`
	// Partitions owned (trackers) and the messages waiting in their consumers.
	Partitions []int  `json:"partitions"`
	Lag        uint64 `json:"lag"`
	// Ready are the partitions of Partitions taken over: their fixes consumed, their gate
	// reads and terminal events answered (a partition is owned some seconds before: its
	// take-over replays its vehicles' recent fixes).
	Ready []int `json:"ready"`
}

// Status is the cluster as this node sees it: GET /api/v1/cluster.
type Status struct {
	Node       string       `json:"node"`
	Partitions int          `json:"partitions"`
	Replicas   int          `json:"replicas"`
	Nodes      []NodeStatus `json:"nodes"`
	// Unowned are the partitions no tracker holds: their fixes wait in the stream.
	Unowned []int        `json:"unowned"`
	Stream  StreamStatus `json:"stream"`
	// Servers are the NATS servers known to the connection.
	Servers []string `json:"nats_servers"`
}

// StreamStatus is the fix stream's size and leader.
type StreamStatus struct {
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	Leader   string `json:"leader"`
}

// Heartbeat announces the node every heartbeatEvery until ctx ends, then withdraws it. t is
// the node's tracker, nil when it runs none.
func (c *Conn) Heartbeat(ctx context.Context, t *Tracker) {
	started := time.Now().UTC()
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		st := NodeStatus{Node: c.cfg.Node, Roles: c.cfg.Roles, Started: started, Seen: time.Now().UTC(), Partitions: []int{}, Ready: []int{}}
		if t != nil {
			st.Partitions, st.Lag = t.Owned()
			st.Ready = t.Ready()
		}
		if b, err := json.Marshal(st); err == nil {
			if _, err := c.nodes.Put(ctx, c.cfg.Node, b); err != nil && ctx.Err() == nil {
				c.log.Warn("announcing the node", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			c.nodes.Delete(dctx, c.cfg.Node)
			cancel()
			return
		case <-tick.C:
		}
	}
}

// nodeList reads the nodes announced.
func (c *Conn) nodeList(ctx context.Context) ([]NodeStatus, error) {
	keys, err := c.nodes.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []NodeStatus
	for k := range keys.Keys() {
		e, err := c.nodes.Get(ctx, k)
		if err != nil {
			continue // withdrawn meanwhile
		}
		var st NodeStatus
		if json.Unmarshal(e.Value(), &st) == nil {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b NodeStatus) int {
		switch {
		case a.Node < b.Node:
			return -1
		case a.Node > b.Node:
			return 1
		}
		return 0
	})
	return out, nil
}

// Status reads the cluster's nodes, leases and stream.
func (c *Conn) Status(ctx context.Context) (Status, error) {
	st := Status{Node: c.cfg.Node, Partitions: c.cfg.Partitions, Replicas: c.cfg.Replicas, Servers: c.nc.Servers()}
	var err error
	if st.Nodes, err = c.nodeList(ctx); err != nil {
		return st, err
	}
	if st.Nodes == nil {
		st.Nodes = []NodeStatus{}
	}
	owned := make([]bool, c.cfg.Partitions)
	keys, err := c.leases.ListKeys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return st, err
	}
	if err == nil {
		for k := range keys.Keys() {
			if p, ok := leasePartition(k, len(owned)); ok {
				owned[p] = true
			}
		}
	}
	st.Unowned = []int{}
	for p, o := range owned {
		if !o {
			st.Unowned = append(st.Unowned, p)
		}
	}
	info, err := c.stream.Info(ctx)
	if err != nil {
		return st, err
	}
	st.Stream = StreamStatus{Messages: info.State.Msgs, Bytes: info.State.Bytes, FirstSeq: info.State.FirstSeq, LastSeq: info.State.LastSeq}
	if info.Cluster != nil {
		st.Stream.Leader = info.Cluster.Leader
	}
	return st, nil
}
