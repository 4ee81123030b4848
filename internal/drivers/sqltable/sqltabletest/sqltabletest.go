// Package sqltabletest holds the read and write scenarios every SQL driver's tests run
// against its real database: ties on the cursor across page borders, resuming from any
// checkpoint, composite keys and per-record write results.
package sqltabletest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
)

// Env is one empty database ready for the scenarios.
type Env struct {
	Driver interface {
		driver.Driver
		driver.Writer
	}
	Config driver.Config // as given by a user; the scenarios validate it against the spec
	DB     *sql.DB       // a handle on the same database, to create and fill tables
	// Timestamp is the column type of timestamps ("timestamp(6)", "datetime(6)", "datetime").
	Timestamp string
}

// Run runs every scenario as a subtest.
func Run(t *testing.T, env Env) {
	t.Run("ties across page borders", func(t *testing.T) { TiesAcrossPages(t, env) })
	t.Run("composite key", func(t *testing.T) { CompositeKey(t, env) })
	t.Run("write ops", func(t *testing.T) { WriteOps(t, env) })
	t.Run("missing table and cursor column", func(t *testing.T) { ReadErrors(t, env) })
}

func (env Env) config(t *testing.T, settings driver.Values) driver.Config {
	t.Helper()
	cfg := driver.Config{Credentials: env.Config.Credentials, Settings: driver.Values{}}
	for k, v := range env.Config.Settings {
		cfg.Settings[k] = v
	}
	for k, v := range settings {
		cfg.Settings[k] = v
	}
	valid, err := env.Driver.Spec().Validate(cfg)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return valid
}

// Exec runs statements on env's database, failing t on error.
func (env Env) Exec(t *testing.T, statements ...string) {
	t.Helper()
	for _, s := range statements {
		if _, err := env.DB.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("exec %.80s: %v", s, err)
		}
	}
}

// TiesAcrossPages reads 3000 rows with 100 per page, where 500 rows share one updated_at
// value and 50 have none: every row must come exactly once, in cursor order, and a read
// resumed from any checkpoint must return exactly the rows after it.
func TiesAcrossPages(t *testing.T, env Env) {
	env.Exec(t, "CREATE TABLE ties (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, updated_at "+env.Timestamp+" NULL)")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 3000
	updated := map[int]*time.Time{}
	var values []string
	for id := 1; id <= n; id++ {
		ts := base.Add(time.Duration(id*7919%n) * time.Second) // out of key order
		switch {
		case id%6 == 0:
			ts = base.Add(time.Hour / 2) // 500 rows share one value
		case id%60 == 1:
			updated[id] = nil // 50 rows have none
			values = append(values, fmt.Sprintf("(%d, 'row %d', NULL)", id, id))
			continue
		}
		updated[id] = &ts
		values = append(values, fmt.Sprintf("(%d, 'row %d', '%s')", id, id, ts.Format("2006-01-02 15:04:05")))
	}
	for len(values) > 0 {
		batch := values[:min(500, len(values))]
		values = values[len(batch):]
		env.Exec(t, "INSERT INTO ties (id, name, updated_at) VALUES "+strings.Join(batch, ", "))
	}

	cfg := env.config(t, nil)
	ctx := t.Context()
	full, err := drivertest.ReadAll(ctx, env.Driver, cfg, driver.ReadRequest{Entity: "ties", Mode: driver.ReadFull, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	keys := full.Keys()
	if len(keys) != n {
		t.Fatalf("read %d rows, want %d", len(keys), n)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("row %s came twice", k)
		}
		seen[k] = true
	}
	// The order is: rows without updated_at by id, then by (updated_at, id).
	less := func(a, b int) int {
		ta, tb := updated[a], updated[b]
		switch {
		case ta == nil && tb == nil:
			return a - b
		case ta == nil:
			return -1
		case tb == nil:
			return 1
		case !ta.Equal(*tb):
			return ta.Compare(*tb)
		}
		return a - b
	}
	want := make([]int, 0, n)
	for id := 1; id <= n; id++ {
		want = append(want, id)
	}
	slices.SortFunc(want, less)
	for i, id := range want {
		if keys[i] != fmt.Sprint(id) {
			t.Fatalf("row %d is %s, want %d (order by updated_at, id)", i, keys[i], id)
		}
	}
	for i, rec := range full.Records {
		if u := updated[want[i]]; (u == nil) != (rec.UpdatedAt == nil) || (u != nil && !u.Equal(*rec.UpdatedAt)) {
			t.Fatalf("record %s: UpdatedAt %v, want %v", rec.Key, rec.UpdatedAt, u)
		}
	}
	prev := 0
	for i, at := range full.RecordsAt {
		if at-prev > 100 || at == prev {
			t.Fatalf("checkpoint %d after %d records, the previous after %d: want one per page of 100", i, at, prev)
		}
		prev = at
	}

	// Resume from every checkpoint: exactly the remaining rows, in the same order.
	for i, cursor := range full.Checkpoints {
		rest, err := drivertest.ReadAll(ctx, env.Driver, cfg, driver.ReadRequest{Entity: "ties", Mode: driver.ReadIncremental, Cursor: cursor, PageSize: 100})
		if err != nil {
			t.Fatalf("resume from checkpoint %d: %v", i, err)
		}
		if got, want := rest.Keys(), keys[full.RecordsAt[i]:]; !slices.Equal(got, want) {
			t.Fatalf("resume from checkpoint %d (after %d rows): got %d rows, want %d", i, full.RecordsAt[i], len(got), len(want))
		}
	}
}

// CompositeKey checks key encoding (a JSON array) on reads and writes.
func CompositeKey(t *testing.T, env Env) {
	env.Exec(t,
		"CREATE TABLE order_lines (order_id INTEGER NOT NULL, line_no INTEGER NOT NULL, sku VARCHAR(20) NOT NULL, PRIMARY KEY (order_id, line_no))",
		"INSERT INTO order_lines VALUES (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c'), (2, 2, 'd'), (3, 1, 'e')",
	)
	cfg := env.config(t, nil)
	ctx := t.Context()
	got, err := drivertest.ReadAll(ctx, env.Driver, cfg, driver.ReadRequest{Entity: "order_lines", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[1,1]", "[1,2]", "[2,1]", "[2,2]", "[3,1]"}
	if !slices.Equal(got.Keys(), want) {
		t.Fatalf("keys %v, want %v", got.Keys(), want)
	}
	res, err := env.Driver.Write(ctx, cfg, "order_lines", []driver.WriteRecord{
		{Key: "[2,1]", Op: driver.OpUpdate, Fields: map[string]any{"sku": "changed"}},
		{Key: "[4,1]", Op: driver.OpUpsert, Fields: map[string]any{"sku": "new"}},
		{Key: "[1,2]", Op: driver.OpDelete},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK {
			t.Fatalf("write %s: %s", r.Key, r.Error)
		}
	}
	got, err = drivertest.ReadAll(ctx, env.Driver, cfg, driver.ReadRequest{Entity: "order_lines", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	byKey := got.ByKey()
	if byKey["[2,1]"]["sku"] != "changed" || byKey["[4,1]"]["sku"] != "new" || byKey["[1,2]"] != nil || len(byKey) != 5 {
		t.Fatalf("after write: %v", byKey)
	}
}

// WriteOps writes one batch with good and bad records: the bad ones fail alone.
func WriteOps(t *testing.T, env Env) {
	env.Exec(t,
		"CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, price DECIMAL(10,2), active BOOLEAN, updated_at "+env.Timestamp+" NULL)",
		"INSERT INTO items (id, name, price, active) VALUES (1, 'one', 1.50, TRUE), (2, 'two', 2.00, FALSE), (3, 'three', 3.00, TRUE), (4, 'four', 4.00, TRUE)",
	)
	cfg := env.config(t, nil)
	ctx := t.Context()
	batch := []struct {
		rec     driver.WriteRecord
		wantErr string // part of the error; "" means OK, "*" any error
	}{
		{driver.WriteRecord{Key: "10", Op: driver.OpCreate, Fields: map[string]any{"name": "ten", "price": "10.25", "active": true, "updated_at": "2024-05-01T10:00:00Z"}}, ""},
		{driver.WriteRecord{Key: "1", Op: driver.OpCreate, Fields: map[string]any{"name": "dup"}}, "*"},
		{driver.WriteRecord{Key: "2", Op: driver.OpUpsert, Fields: map[string]any{"name": "two again", "price": 2.5}}, ""},
		{driver.WriteRecord{Key: "11", Op: driver.OpUpsert, Fields: map[string]any{"name": "eleven"}}, ""},
		{driver.WriteRecord{Key: "3", Op: driver.OpUpdate, Fields: map[string]any{"active": false}}, ""},
		{driver.WriteRecord{Key: "99", Op: driver.OpUpdate, Fields: map[string]any{"name": "nobody"}}, "no record"},
		{driver.WriteRecord{Key: "4", Op: driver.OpDelete}, ""},
		{driver.WriteRecord{Key: "12", Op: driver.OpCreate, Fields: map[string]any{"name": "x", "colour": "red"}}, "colour"},
		{driver.WriteRecord{Key: "13", Op: driver.OpCreate, Fields: map[string]any{"name": nil}}, "name"},
		{driver.WriteRecord{Op: driver.OpCreate, Fields: map[string]any{"id": 14, "name": "fourteen"}}, ""},
		{driver.WriteRecord{Key: "15", Op: driver.OpCreate, Fields: map[string]any{"name": "x", "price": "lots"}}, "price"},
	}
	records := make([]driver.WriteRecord, len(batch))
	for i, b := range batch {
		records[i] = b.rec
	}
	results, err := env.Driver.Write(ctx, cfg, "items", records)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(batch) {
		t.Fatalf("%d results for %d records", len(results), len(batch))
	}
	for i, b := range batch {
		r := results[i]
		switch {
		case b.wantErr == "" && !r.OK:
			t.Errorf("record %d (%s %s): %s", i, b.rec.Op, r.Key, r.Error)
		case b.wantErr != "" && r.OK:
			t.Errorf("record %d (%s %s) succeeded, want an error", i, b.rec.Op, r.Key)
		case b.wantErr != "" && b.wantErr != "*" && !strings.Contains(r.Error, b.wantErr):
			t.Errorf("record %d: error %q does not mention %q", i, r.Error, b.wantErr)
		}
	}
	if results[9].Key != "14" {
		t.Errorf("key of a record created from its fields: %q, want 14", results[9].Key)
	}

	got, err := drivertest.ReadAll(ctx, env.Driver, cfg, driver.ReadRequest{Entity: "items"})
	if err != nil {
		t.Fatal(err)
	}
	rows := got.ByKey()
	want := map[string]map[string]any{
		"1":  {"id": int64(1), "name": "one", "price": "1.50", "active": true, "updated_at": nil},
		"2":  {"id": int64(2), "name": "two again", "price": "2.50", "active": false, "updated_at": nil},
		"3":  {"id": int64(3), "name": "three", "price": "3.00", "active": false, "updated_at": nil},
		"10": {"id": int64(10), "name": "ten", "price": "10.25", "active": true, "updated_at": "2024-05-01T10:00:00Z"},
		"11": {"id": int64(11), "name": "eleven", "price": nil, "active": nil, "updated_at": nil},
		"14": {"id": int64(14), "name": "fourteen", "price": nil, "active": nil, "updated_at": nil},
	}
	if len(rows) != len(want) {
		t.Errorf("rows after write: %v", got.Keys())
	}
	for k, w := range want {
		for field, v := range w {
			if field == "price" && sameDecimal(rows[k][field], v) {
				continue // SQLite keeps decimals as REAL: 1.50 reads back as 1.5
			}
			if fmt.Sprint(rows[k][field]) != fmt.Sprint(v) {
				t.Errorf("row %s field %s = %#v, want %#v", k, field, rows[k][field], v)
			}
		}
	}
}

// ReadErrors checks that a missing table and a missing cursor column are configuration
// errors a person can act on.
func ReadErrors(t *testing.T, env Env) {
	env.Exec(t, "CREATE TABLE plain (id INTEGER PRIMARY KEY, name VARCHAR(10))", "CREATE TABLE nokey (name VARCHAR(10))")
	ctx := t.Context()
	tests := []struct {
		name     string
		settings driver.Values
		entity   string
		want     error
	}{
		{"missing table", nil, "nope", driver.ErrUnknownEntity},
		{"table not listed", driver.Values{"tables": "plain"}, "nokey", driver.ErrUnknownEntity},
		{"missing cursor column", driver.Values{"cursor_column": "changed_at"}, "plain", driver.ErrConfig},
		{"no primary key", nil, "nokey", driver.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := drivertest.ReadAll(ctx, env.Driver, env.config(t, tt.settings), driver.ReadRequest{Entity: tt.entity})
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.want)
			}
		})
	}
	// A cursor written while the table was ordered by updated_at no longer fits.
	env.Exec(t, "CREATE TABLE shifting (id INTEGER PRIMARY KEY, updated_at "+env.Timestamp+" NULL)",
		"INSERT INTO shifting VALUES (1, NULL), (2, NULL)")
	cfg := env.config(t, nil)
	first, err := drivertest.ReadAll(ctx, env.Driver, cfg, driver.ReadRequest{Entity: "shifting", PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	env.Exec(t, "ALTER TABLE shifting DROP COLUMN updated_at")
	_, err = drivertest.ReadAll(ctx, env.Driver, cfg, driver.ReadRequest{Entity: "shifting", Cursor: first.Checkpoints[0]})
	if !errors.Is(err, driver.ErrConfig) {
		t.Fatalf("read with a cursor for a dropped column: %v, want ErrConfig", err)
	}
}

func sameDecimal(a, b any) bool {
	x, errA := strconv.ParseFloat(fmt.Sprint(a), 64)
	y, errB := strconv.ParseFloat(fmt.Sprint(b), 64)
	return errA == nil && errB == nil && x == y
}

// Exec runs statements on a test database, failing the test on the first error.
func Exec(tb testing.TB, db *sql.DB, statements ...string) {
	tb.Helper()
	for _, s := range statements {
		if _, err := db.Exec(s); err != nil {
			tb.Fatalf("%.80s: %v", s, err)
		}
	}
}

// With returns a copy of cfg with one credential ("credentials") or setting ("settings") set.
func With(cfg driver.Config, group, name string, value any) driver.Config {
	out := driver.Config{Credentials: driver.Values{}, Settings: driver.Values{}}
	for k, v := range cfg.Credentials {
		out.Credentials[k] = v
	}
	for k, v := range cfg.Settings {
		out.Settings[k] = v
	}
	if group == "credentials" {
		out.Credentials[name] = value
	} else {
		out.Settings[name] = value
	}
	return out
}
