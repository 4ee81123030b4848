package store

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// BenchmarkApplyPage measures a sync's store side: pages of 1000 new records, then the same
// pages unchanged. go test ./internal/store -bench ApplyPage -benchtime 20x
func BenchmarkApplyPage(b *testing.B) {
	for _, dialect := range []Dialect{SQLite, Postgres} {
		if only := os.Getenv("BENCH_DIALECT"); only != "" && only != string(dialect) {
			continue
		}
		b.Run(string(dialect), func(b *testing.B) {
			s := OpenTest(b, dialect)
			ctx := context.Background()
			ws, _ := s.EnsureWorkspace(ctx, "w")
			c := Connection{WorkspaceID: ws.ID, Name: "c", Driver: "x", Status: StatusActive, CredentialsSealed: "x", Settings: map[string]any{}}
			j := Job{WorkspaceID: ws.ID, Kind: KindSync, MaxAttempts: 1}
			if err := s.CreateConnection(ctx, &c, &j); err != nil {
				b.Fatal(err)
			}
			mk := func(n int) Page {
				p := Page{WorkspaceID: ws.ID, ConnectionID: c.ID, JobID: j.ID, Entity: "items"}
				for i := range 1000 {
					k := fmt.Sprintf("%08d", n*1000+i)
					p.Records = append(p.Records, PageRecord{Key: k, Hash: "h" + k,
						Fields: []byte(`{"active":true,"category":"category-16","description":"A sturdy item, 0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef","id":` + k +
							`,"name":"Product number 123456","price":"1234.56","quantity":456,"sku":"SKU-00123456","updated_at":"2026-01-01T00:02:03.456Z","weight":1604.928}`)})
				}
				return p
			}
			for _, phase := range []string{"insert", "unchanged"} {
				b.Run(phase, func(b *testing.B) {
					for i := 0; b.Loop(); i++ {
						if _, err := s.ApplyPage(ctx, mk(i)); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
				})
			}
		})
	}
}
