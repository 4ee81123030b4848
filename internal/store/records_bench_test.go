package store

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkApplyPage measures a sync's store side: pages of 1000 new records, then the same
// pages unchanged. go test ./internal/store -bench ApplyPage -benchtime 20x
func BenchmarkApplyPage(b *testing.B) {
	for _, dialect := range []Dialect{SQLite, Postgres} {
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
						Fields: []byte(`{"id":` + k + `,"name":"Customer name here","email":"someone@example.com","amount":"1234.50","active":true,"created":"2026-01-01T00:00:00Z"}`)})
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
