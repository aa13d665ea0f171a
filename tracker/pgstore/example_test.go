package pgstore_test

import (
	"context"
	"log"
	"time"

	"github.com/borderwatch/borderwatch/tracker/pgstore"
)

// A server opens the store, keeps partitions and retention up to date, and reloads its zone
// cache whenever any server changes a zone.
func ExampleOpen() {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, "postgres://borderwatch@db:5432/borderwatch", pgstore.Options{Retention: 400 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err) // unreachable database: the caller may retry
	}
	defer s.Close()

	go func() {
		for range time.Tick(time.Hour) {
			if err := s.Maintain(ctx, time.Now()); err != nil {
				log.Print(err)
			}
		}
	}()
	go s.WatchZones(ctx, func(id string) {
		if id == "" {
			log.Print("reload every zone")
			return
		}
		log.Printf("reload zone %s", id)
	})
}
