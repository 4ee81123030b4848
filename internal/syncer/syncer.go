// Package syncer refreshes a connection's mirror: it discovers the catalog, then reads every
// entity through the driver and commits records page by page with the cursor, so a sync
// killed at any moment resumes at its last checkpoint and never loses or doubles a record.
package syncer

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/store"
)

// Modes a sync job may ask for.
const (
	ModeFull        = "full"        // read everything; what was not seen is gone
	ModeIncremental = "incremental" // read from the saved cursor
	ModeAuto        = "auto"        // incremental where an entity has a cursor and a finished sync, else full
)

// DefaultPageSize is how many records a driver reads between checkpoints.
const DefaultPageSize = 1000

// DefaultFullEvery is how often automatic syncs read an entity in full even when it has a
// cursor: incremental reads cannot see deletions, full ones mark unseen records gone.
const DefaultFullEvery = 24 * time.Hour

// Syncer writes what drivers read into the store.
type Syncer struct {
	Store     *store.Store
	Metrics   *jobs.Metrics
	PageSize  int
	FullEvery time.Duration // 0: DefaultFullEvery
}

// Run is one sync of one connection.
type Run struct {
	Job        store.Job
	Connection store.Connection
	Driver     driver.Driver
	Config     driver.Config
	Mode       string
	Log        *jobs.Log
}

// Sync discovers the catalog, stores it, and reads every entity into the mirror.
func (s *Syncer) Sync(ctx context.Context, run Run) error {
	conn := run.Connection
	catalog, err := run.Driver.Discover(ctx, run.Config)
	if err != nil {
		return fmt.Errorf("discover %s: %w", conn.Name, err)
	}
	changes, err := s.saveCatalog(ctx, run, catalog)
	if err != nil {
		return err
	}
	run.Log.Info(fmt.Sprintf("catalog: %d entities, %d value lists, %d changes", len(catalog.Entities), len(catalog.ValueLists), changes))
	// An entity that needs a person (its key changed, say) fails alone; the others still
	// sync. Anything else (the system went away) stops the job, which retries.
	var failed []string
	for _, entity := range catalog.Entities {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.syncEntity(ctx, run, entity); err != nil {
			if !driver.IsConfig(err) {
				return fmt.Errorf("sync %s.%s: %w", conn.Name, entity.Name, err)
			}
			run.Log.Error(fmt.Sprintf("%s: %v", entity.Name, err))
			failed = append(failed, fmt.Sprintf("%s: %v", entity.Name, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %s", driver.ErrConfig, strings.Join(failed, "; "))
	}
	return nil
}

// saveCatalog stores the discovered catalog with what changed since the last one.
func (s *Syncer) saveCatalog(ctx context.Context, run Run, catalog *driver.Catalog) (int, error) {
	conn := run.Connection
	var old *driver.Catalog
	if doc, _, err := s.Store.GetCatalog(ctx, conn.WorkspaceID, conn.ID); err == nil {
		old = &driver.Catalog{}
		if err := json.Unmarshal(doc, old); err != nil {
			old = nil // unreadable: start the history again
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	changes := DiffCatalogs(old, catalog)
	doc, err := json.Marshal(catalog)
	if err != nil {
		return 0, fmt.Errorf("discover %s: %w", conn.Name, err)
	}
	if err := s.Store.SaveCatalog(ctx, conn.WorkspaceID, conn.ID, doc, changes, run.Job.ID); err != nil {
		return 0, err
	}
	for _, c := range changes {
		run.Log.Info(fmt.Sprintf("catalog change: %s %s %s %s", c.Kind, c.Entity, c.Name, c.Detail))
		if c.Kind != EntityRemoved {
			continue
		}
		// The system no longer has the entity (or it is no longer mirrored): its records
		// are gone, kept with the time they went, as records deleted upstream are.
		gone, err := s.Store.MarkEntityGone(ctx, conn.ID, c.Entity, run.Job.ID)
		if err != nil {
			return 0, err
		}
		s.Metrics.CountRecords(store.Counters{Gone: gone})
		run.Log.Info(fmt.Sprintf("%s: no longer in the catalog; %d records marked gone", c.Entity, gone))
	}
	return len(changes), nil
}

// checkShape refuses to go on when the entity's key or cursor is not what the last finished
// sync used: records are mirrored by the old key, the saved cursor is a position in the old
// order. Only a full sync asked for by a person starts over on the new shape.
func checkShape(run Run, entity driver.Entity, state store.SyncRun, keyAttrs string) error {
	if run.Mode == ModeFull {
		return nil
	}
	if state.KeyAttrs != "" && state.KeyAttrs != keyAttrs {
		return fmt.Errorf("%w: the key changed from %s to %s; records are mirrored by the old key, so nothing was synced. "+
			"Check the system, then start a full sync to mirror by the new key", driver.ErrConfig, state.KeyAttrs, keyAttrs)
	}
	if state.CursorAttr != "" && state.CursorAttr != entity.Cursor {
		what := fmt.Sprintf("the cursor column %q was removed", state.CursorAttr)
		if entity.Cursor != "" {
			what = fmt.Sprintf("the cursor column changed from %q to %q", state.CursorAttr, entity.Cursor)
		}
		return fmt.Errorf("%w: %s, so incremental syncs cannot go on from the saved position. "+
			"Restore the column or set cursor_column, or start a full sync", driver.ErrConfig, what)
	}
	return nil
}

func (s *Syncer) syncEntity(ctx context.Context, run Run, entity driver.Entity) error {
	mode := run.Mode
	var fullIfBefore time.Time // an incremental sync asked for by a person stays incremental
	if mode == ModeAuto || mode == "" {
		mode = ModeFull
		if entity.Cursor != "" {
			mode = ModeIncremental
			fullIfBefore = time.Now().Add(-cmp.Or(s.FullEvery, DefaultFullEvery))
		}
	}
	state, err := s.Store.BeginEntitySync(ctx, run.Connection.ID, entity.Name, run.Job.ID, mode, fullIfBefore)
	if err != nil {
		return err
	}
	keyJSON, _ := json.Marshal(entity.Key)
	if err := checkShape(run, entity, state, string(keyJSON)); err != nil {
		return err
	}
	if state.Resumed {
		run.Log.Info(fmt.Sprintf("%s: resuming %s sync from the last checkpoint", entity.Name, state.Mode))
	}
	began := time.Now()
	page := &pageWriter{syncer: s, run: run, entity: entity.Name, cursor: state.Cursor, max: s.pageSize() * 2}
	err = run.Driver.Read(ctx, run.Config, driver.ReadRequest{
		Entity: entity.Name, Mode: driver.ReadMode(state.Mode), Cursor: state.Cursor, PageSize: s.pageSize(),
	}, page)
	if err == nil {
		err = page.flush(ctx)
	}
	// Whatever happened, no commit may still be running when this returns.
	if werr := page.wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	gone, err := s.Store.FinishEntitySync(ctx, run.Connection.ID, entity.Name, run.Job.ID, string(keyJSON), entity.Cursor)
	if err != nil {
		return err
	}
	s.Metrics.CountRecords(store.Counters{Gone: gone})
	run.Log.Info(fmt.Sprintf("%s: %s sync read %d records in %s; %d inserted, %d updated, %d unchanged, %d gone",
		entity.Name, state.Mode, page.total.Read, time.Since(began).Round(time.Millisecond),
		page.total.Inserted, page.total.Updated, page.total.Unchanged, gone))
	return nil
}

func (s *Syncer) pageSize() int {
	if s.PageSize > 0 {
		return s.PageSize
	}
	return DefaultPageSize
}

// pageWriter is the driver.Emitter of one entity's read: it holds records until the driver
// checkpoints (or too many pile up) and then commits them with the cursor in one transaction.
// A page commits in the background while the driver reads the next one, so reading and
// writing use both cores; at most one page commits and one fills, which bounds memory.
type pageWriter struct {
	syncer   *Syncer
	run      Run
	entity   string
	enc      encoder
	records  []store.PageRecord
	deletes  []string
	cursor   string // the last checkpoint's cursor; committed with the next flush
	max      int
	total    store.Counters // written by the commit goroutine; read after wait
	inflight chan error     // the running commit's outcome; nil when none runs
}

func (p *pageWriter) Record(ctx context.Context, r driver.Record) error {
	if r.Key == "" {
		return fmt.Errorf("%w: %s: a record has an empty key", driver.ErrConfig, p.entity)
	}
	fields, err := p.enc.encode(r.Fields)
	if err != nil {
		return fmt.Errorf("record %s: encode fields: %w", r.Key, err)
	}
	sum := sha256.Sum256(fields)
	p.records = append(p.records, store.PageRecord{
		Key: r.Key, Fields: fields, Hash: hex.EncodeToString(sum[:16]), UpdatedAt: r.UpdatedAt,
	})
	if len(p.records) >= p.max {
		// The driver has not checkpointed for a long while: commit what we have with the
		// previous cursor. A resume re-reads these records and finds them unchanged.
		return p.flush(ctx)
	}
	return nil
}

func (p *pageWriter) Delete(ctx context.Context, key string) error {
	p.deletes = append(p.deletes, key)
	if len(p.deletes) >= p.max {
		return p.flush(ctx)
	}
	return nil
}

func (p *pageWriter) Checkpoint(ctx context.Context, cursor string) error {
	p.cursor = cursor
	return p.flush(ctx)
}

func (p *pageWriter) Log(ctx context.Context, message string) {
	p.run.Log.Info(p.entity + ": " + message)
}

// flush hands the page to a background commit, after the previous one has finished (so
// pages commit in order) and succeeded.
func (p *pageWriter) flush(ctx context.Context) error {
	if err := p.wait(); err != nil {
		return err
	}
	page := store.Page{
		WorkspaceID: p.run.Connection.WorkspaceID, ConnectionID: p.run.Connection.ID, JobID: p.run.Job.ID,
		Entity: p.entity, Records: p.records, Deletes: p.deletes, Cursor: p.cursor,
	}
	p.records = make([]store.PageRecord, 0, cap(p.records))
	p.deletes = nil
	done := make(chan error, 1)
	p.inflight = done
	go func() {
		c, err := p.syncer.Store.ApplyPage(ctx, page)
		if err == nil {
			p.syncer.Metrics.CountRecords(c)
			p.total.Read += c.Read
			p.total.Inserted += c.Inserted
			p.total.Updated += c.Updated
			p.total.Unchanged += c.Unchanged
		}
		done <- err
	}()
	return nil
}

// wait returns the outcome of the running commit, if any.
func (p *pageWriter) wait() error {
	if p.inflight == nil {
		return nil
	}
	err := <-p.inflight
	p.inflight = nil
	return err
}
