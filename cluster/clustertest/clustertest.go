// Package clustertest starts real NATS JetStream clusters on loopback for tests, embedding the
// NATS server, and makes PostgreSQL databases for them.
package clustertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/internal/loopback"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
)

// NATS is a cluster of embedded NATS servers with JetStream.
type NATS struct {
	tb      testing.TB
	Servers []*server.Server
	opts    []*server.Options
}

// StartNATS starts n servers clustered on loopback, each with its own JetStream directory, and
// stops them at the end of the test.
func StartNATS(tb testing.TB, n int) *NATS {
	tb.Helper()
	ports := freePorts(tb, n)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	c := &NATS{tb: tb}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("nats-%d", i),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   tb.TempDir(),
			NoSigs:     true,
			NoLog:      true,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "bw-test", Host: "127.0.0.1", Port: ports[i]}
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
		c.opts = append(c.opts, o)
		c.Servers = append(c.Servers, nil)
		c.start(i)
	}
	tb.Cleanup(func() {
		for _, s := range c.Servers {
			if s != nil {
				s.Shutdown()
				s.WaitForShutdown()
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range c.Servers {
		for !s.JetStreamIsCurrent() {
			if time.Now().After(deadline) {
				tb.Fatalf("NATS cluster not ready in 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

func (c *NATS) start(i int) {
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.tb.Fatalf("NATS server %d: %v", i, err)
	}
	go s.Start()
	// Generous: on a busy 2-core machine (the Go tests run beside the browser tests) a server
	// with JetStream has been seen to take over 10 s.
	if !s.ReadyForConnections(30 * time.Second) {
		c.tb.Fatalf("NATS server %d not ready in 30 s", i)
	}
	c.Servers[i] = s
	// The client port is fixed from now on, so that a restart keeps the URL.
	c.opts[i].Port = s.Addr().(*net.TCPAddr).Port
}

// URLs are the client URLs of every server, comma-separated.
func (c *NATS) URLs() string {
	var urls []string
	for i := range c.opts {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port))
	}
	return strings.Join(urls, ",")
}

// Kill stops server i at once, as a crash would (its clients see the connection drop).
func (c *NATS) Kill(i int) {
	c.Servers[i].Shutdown()
	c.Servers[i].WaitForShutdown()
	c.Servers[i] = nil
}

// Restart starts server i again on its ports and JetStream directory.
func (c *NATS) Restart(i int) { c.start(i) }

func freePorts(tb testing.TB, n int) []int {
	ports, err := loopback.Ports(n)
	if err != nil {
		tb.Fatal(err)
	}
	return ports
}

// PostgresURL makes an empty PostgreSQL database for the test, dropped at its end
// (BW_TEST_POSTGRES_URL names the server, as for the pgstore tests).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv("BW_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("BW_SKIP_POSTGRES") == "1" {
			tb.Skipf("PostgreSQL not reachable (BW_SKIP_POSTGRES=1): %v", err)
		}
		tb.Fatalf("PostgreSQL not reachable at %s: %v", admin, err)
	}
	defer conn.Close(ctx)
	name := "bw_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}
