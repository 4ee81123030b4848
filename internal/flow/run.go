package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/store"
)

// batchSize is how many source records a run maps, writes and commits at a time.
const batchSize = 100

// Item is what a run does (or, in a dry run, would do) with one source record.
type Item struct {
	Key       string         `json:"key"`
	Action    string         `json:"action" enum:"create,upsert,update,delete,deactivate,unlink,skip,fail"`
	Reason    string         `json:"reason,omitempty"`
	TargetKey string         `json:"target_key,omitempty"`
	Fields    map[string]any `json:"fields,omitempty" doc:"the mapped output written to the target"`
	Lines     []LineItem     `json:"lines,omitempty"`

	cand      store.Candidate
	link      *store.Link
	op        driver.WriteOp
	result    driver.WriteResult
	lineError string // why a line of the record was refused
}

// LineItem is one mapped line written to a separate target entity.
type LineItem struct {
	Entity string         `json:"entity"`
	Fields map[string]any `json:"fields"`
}

// Exactly-once effect.
//
// A run never overlaps another run of the same flow (ClaimFlowRun), and every write is
// bracketed by the link table:
//
//  1. Before a record that has no link is written, its link is stored as pending, in its
//     own committed transaction.
//  2. The record is written to the target by key: a flow maps the target's key attributes
//     (or names a Reference, below; Compile refuses anything else), from the source key or
//     a template such as "SHOP-{{id}}", so the target key is a function of the source record.
//  3. The link becomes linked, with the target key and the source hash, in the same
//     transaction as the job's counters and the failed-records list.
//
// A process killed between 1 and 3 leaves the link pending. The next run sees it and
// writes the record again as an upsert by the same key, never as a create, so whether the
// first write landed or not, the target holds the record once.
//
// A target that makes its own keys cannot be written by key. There the definition names
// a Reference: a mapped target attribute that identifies the source record (the shop's
// order id in the production system). A pending record is looked for by its reference,
// in the target's mirror and then by reading the target through its driver (the mirror
// may predate the crash); found, it is updated by the key found, otherwise created. Lines go to their entity
// by upsert by key too. A target that refused a record (its result says so, and the
// driver rolled that record back) has its fresh pending link dropped.
//
// On-success actions and write-back work the same way on the source: the link records
// the action as pending (with the linked state, in one transaction) or the value to
// write back (before the write), the source is written, and then the link records it
// done. A crash in between repeats the same write, which sets the same value again and so
// changes nothing; once done, a value is never written back again, however often the
// target is seen in that state.
//
// Write-back reads the target's mirror, not the target: it sees a target change after a
// sync of the target connection, which (for automatic flows) starts a run by itself.

type side struct {
	conn store.Connection
	d    driver.Driver
	cfg  driver.Config
	w    driver.Writer
}

type run struct {
	s        *Service
	flow     store.Flow
	def      Definition
	jobID    int64
	log      *jobs.Log // nil in a dry run
	src, tgt side
	secrets  []string
	dry      bool
	// keyMapped says the mapping sets the target's key; otherwise the target makes its
	// keys and records are found by the definition's Reference attribute.
	keyMapped bool
}

// prepare loads what a run needs: the definition compiled against today's catalogs (an
// attribute that went away stops the run with a clear message) and both drivers.
func (s *Service) prepare(ctx context.Context, f store.Flow, jobID int64, log *jobs.Log) (*run, error) {
	def, err := decodeFlow(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", driver.ErrConfig, err)
	}
	r := &run{s: s, flow: f, jobID: jobID, log: log}
	for _, x := range []struct {
		id  int64
		out *side
	}{{f.SourceConnectionID, &r.src}, {f.TargetConnectionID, &r.tgt}} {
		c, err := s.store.GetConnection(ctx, f.WorkspaceID, x.id)
		if err != nil {
			return nil, fmt.Errorf("%w: connection %d of flow %q: %v", driver.ErrConfig, x.id, f.Name, err)
		}
		d, cfg, err := s.conns.Open(ctx, c)
		if err != nil {
			return nil, err
		}
		x.out.conn, x.out.d, x.out.cfg = c, d, cfg
		x.out.w, _ = d.(driver.Writer)
		r.secrets = append(r.secrets, d.Spec().SecretValues(cfg)...)
		if log != nil {
			log.Hide(d.Spec().SecretValues(cfg)...)
		}
	}
	if r.def, err = s.compile(ctx, f.WorkspaceID, def.Definition); err != nil {
		return nil, fmt.Errorf("%w: the flow no longer fits the catalogs: %v", driver.ErrConfig, err)
	}
	r.keyMapped = r.def.Reference == ""
	if !r.keyMapped {
		doc, _, err := s.store.GetCatalog(ctx, f.WorkspaceID, f.TargetConnectionID)
		if err != nil {
			return nil, err
		}
		var cat driver.Catalog
		if err := json.Unmarshal(doc, &cat); err != nil {
			return nil, fmt.Errorf("catalog of %q: %w", r.tgt.conn.Name, err)
		}
		if e, ok := cat.Entity(f.TargetEntity); ok {
			r.keyMapped = r.def.mapsKey(&e)
		}
	}
	return r, nil
}

// runJob is the flow job.
func (s *Service) runJob(ctx context.Context, j store.Job, log *jobs.Log) error {
	var p runParams
	if err := json.Unmarshal([]byte(j.Params), &p); err != nil {
		return fmt.Errorf("%w: job parameters: %v", driver.ErrConfig, err)
	}
	f, err := s.store.GetFlow(ctx, j.WorkspaceID, p.FlowID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: flow %d was deleted", driver.ErrConfig, p.FlowID)
	}
	if err != nil {
		return err
	}
	if err := s.claim(ctx, f, j.ID, log); err != nil {
		return err
	}
	defer func() { _ = s.store.ReleaseFlowRun(context.WithoutCancel(ctx), f.ID, j.ID) }()
	r, err := s.prepare(ctx, f, j.ID, log)
	if err != nil {
		return err
	}
	if r.tgt.w == nil {
		return fmt.Errorf("%w: the driver of %q cannot write", driver.ErrConfig, r.tgt.conn.Name)
	}
	for _, c := range []store.Connection{r.src.conn, r.tgt.conn} {
		if c.Status != store.StatusActive {
			log.Info(fmt.Sprintf("the connection %q is inactive; nothing done", c.Name))
			return nil
		}
	}
	log.Info(fmt.Sprintf("flow %q: %s %s → %s %s (%s)", f.Name, r.src.conn.Name, f.SourceEntity, r.tgt.conn.Name,
		f.TargetEntity, r.def.WriteMode))
	if err := r.finishActions(ctx); err != nil {
		return err
	}
	switch {
	case p.Retry && len(p.Keys) == 0:
		keys, err := s.failedKeys(ctx, f.ID)
		if err != nil {
			return err
		}
		log.Info(fmt.Sprintf("retrying %d failed records", len(keys)))
		err = r.runKeys(ctx, keys)
		if err != nil {
			return err
		}
	case len(p.Keys) > 0:
		if err := r.runKeys(ctx, p.Keys); err != nil {
			return err
		}
	default:
		if err := r.runChanged(ctx); err != nil {
			return err
		}
		if len(r.def.WriteBack) > 0 {
			if err := r.writeBack(ctx); err != nil {
				return err
			}
		}
	}
	done, err := s.store.JobByID(ctx, j.ID)
	if err == nil {
		c := done.Counters
		log.Info(fmt.Sprintf("flow run finished: %d considered, %d written (%d created, %d updated), %d skipped, %d failed",
			c.Read, c.Written(), c.Inserted, c.Updated, c.Skipped, c.Failed))
	}
	return nil
}

// claim waits until no other run of the flow is under way, then takes the flow.
func (s *Service) claim(ctx context.Context, f store.Flow, jobID int64, log *jobs.Log) error {
	waited := false
	for {
		ok, err := s.store.ClaimFlowRun(ctx, f.ID, jobID)
		if err != nil || ok {
			return err
		}
		if !waited {
			log.Info("waiting for the flow's other run to finish")
			waited = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *Service) failedKeys(ctx context.Context, flowID int64) ([]string, error) {
	var keys []string
	after := ""
	for {
		page, err := s.store.ListFailures(ctx, flowID, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, f := range page {
			keys = append(keys, f.SourceKey)
		}
		if len(page) < 1000 {
			return keys, nil
		}
		after = page[len(page)-1].SourceKey
	}
}

// runChanged handles every source record changed since the flow last handled it.
func (r *run) runChanged(ctx context.Context) error {
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		cands, err := r.s.store.FlowCandidates(ctx, r.flow, after, batchSize)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			return nil
		}
		items, err := r.plan(ctx, cands, false)
		if err != nil {
			return err
		}
		if err := r.execute(ctx, items); err != nil {
			return err
		}
		after = cands[len(cands)-1].Key
	}
}

// runKeys handles the chosen source records, even unchanged ones.
func (r *run) runKeys(ctx context.Context, keys []string) error {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	for start := 0; start < len(keys); start += batchSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := keys[start:min(start+batchSize, len(keys))]
		cands, err := r.s.store.RecordsByKeys(ctx, r.flow.SourceConnectionID, r.flow.SourceEntity, chunk)
		if err != nil {
			return err
		}
		if missing := len(chunk) - len(cands); missing > 0 && r.log != nil {
			found := map[string]bool{}
			for _, c := range cands {
				found[c.Key] = true
			}
			for _, k := range chunk {
				if !found[k] {
					r.log.Warn(fmt.Sprintf("no source record %q in the mirror; skipped", k))
				}
			}
			if err := r.s.store.AddFlowCounters(ctx, r.jobID, store.Counters{Read: int64(missing), Skipped: int64(missing)}); err != nil {
				return err
			}
		}
		items, err := r.plan(ctx, cands, true)
		if err != nil {
			return err
		}
		if err := r.execute(ctx, items); err != nil {
			return err
		}
	}
	return nil
}

// plan decides, without writing, what to do with each candidate.
func (r *run) plan(ctx context.Context, cands []store.Candidate, force bool) ([]Item, error) {
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.Key
	}
	links, err := r.s.store.Links(ctx, r.flow.ID, keys)
	if err != nil {
		return nil, err
	}
	lines, err := r.sourceLines(ctx, keys)
	if err != nil {
		return nil, err
	}
	targets := map[string]store.Candidate{}
	if r.def.Priority != PrioritySource {
		var tkeys []string
		for _, l := range links {
			if l.State == store.LinkLinked && l.TargetKey != "" {
				tkeys = append(tkeys, l.TargetKey)
			}
		}
		got, err := r.s.store.RecordsByKeys(ctx, r.flow.TargetConnectionID, r.flow.TargetEntity, tkeys)
		if err != nil {
			return nil, err
		}
		for _, t := range got {
			targets[t.Key] = t
		}
	}
	items := make([]Item, len(cands))
	for i, c := range cands {
		it := Item{Key: c.Key, cand: c}
		if l, ok := links[c.Key]; ok {
			it.link = &l
			it.TargetKey = l.TargetKey
		}
		r.decide(&it, force, lines, targets)
		items[i] = it
	}
	if !r.keyMapped {
		if err := r.resolveByReference(ctx, items); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// resolveByReference finds, for a target that makes its own keys, the target records of
// a batch by the reference attribute: of links made by a create whose key the target did
// not report, and of pending links, whose write may have landed before a crash. For
// those it also reads the target itself, since its mirror may not have the record yet;
// a record found is updated, one not found is created.
func (r *run) resolveByReference(ctx context.Context, items []Item) error {
	var values []string
	live := false
	needs := func(it *Item) bool {
		return it.op != "" && it.TargetKey == "" && (it.link != nil || it.op == driver.OpUpdate)
	}
	for i := range items {
		it := &items[i]
		if !needs(it) {
			continue
		}
		if v := Text(it.Fields[r.def.Reference]); v != "" {
			values = append(values, v)
			live = live || (it.link != nil && it.link.State == store.LinkPending)
		}
	}
	if len(values) == 0 {
		return nil
	}
	found, err := r.findByReference(ctx, values, live)
	if err != nil {
		return err
	}
	for i := range items {
		it := &items[i]
		if !needs(it) {
			continue
		}
		key, ok := found[Text(it.Fields[r.def.Reference])]
		pending := it.link != nil && it.link.State == store.LinkPending
		switch {
		case ok:
			it.TargetKey, it.op, it.Action = key, driver.OpUpdate, "update"
			if pending {
				it.Reason = fmt.Sprintf("an earlier write landed as %s (found by %s): updated", key, r.def.Reference)
			}
		case pending:
			it.op, it.Action = driver.OpCreate, "create"
			it.Reason = fmt.Sprintf("an earlier write did not land (no target with this %s): created", r.def.Reference)
		default:
			it.Action, it.Reason, it.op, it.Fields, it.Lines = "fail", fmt.Sprintf(
				"the target record is not in the target's mirror by %s yet; sync the target connection", r.def.Reference), "", nil, nil
		}
	}
	return nil
}

// findByReference maps reference values to target keys, from the target's mirror and,
// with live, by reading the target entity through its driver for what the mirror lacks.
func (r *run) findByReference(ctx context.Context, values []string, live bool) (map[string]string, error) {
	found := map[string]string{}
	recs, err := r.s.store.RecordsByField(ctx, r.flow.TargetConnectionID, r.flow.TargetEntity, r.def.Reference, values)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		f, err := decodeFields(rec.Fields)
		if err != nil {
			return nil, err
		}
		found[Text(f[r.def.Reference])] = rec.Key
	}
	want := map[string]bool{}
	for _, v := range values {
		if _, ok := found[v]; !ok {
			want[v] = true
		}
	}
	if !live || len(want) == 0 {
		return found, nil
	}
	scan := &referenceScan{attr: r.def.Reference, want: want, found: found}
	err = r.tgt.d.Read(ctx, r.tgt.cfg, driver.ReadRequest{Entity: r.flow.TargetEntity, Mode: driver.ReadFull, PageSize: 1000}, scan)
	if err != nil && !errors.Is(err, errScanDone) {
		return nil, fmt.Errorf("look for earlier writes in %s %s: %w", r.tgt.conn.Name, r.flow.TargetEntity, err)
	}
	return found, nil
}

var errScanDone = errors.New("every reference found")

// referenceScan is the driver.Emitter of findByReference's read.
type referenceScan struct {
	attr  string
	want  map[string]bool
	found map[string]string
}

func (s *referenceScan) Record(_ context.Context, rec driver.Record) error {
	if v := Text(rec.Fields[s.attr]); s.want[v] {
		s.found[v] = rec.Key
		delete(s.want, v)
		if len(s.want) == 0 {
			return errScanDone
		}
	}
	return nil
}
func (s *referenceScan) Delete(context.Context, string) error     { return nil }
func (s *referenceScan) Checkpoint(context.Context, string) error { return nil }
func (s *referenceScan) Log(context.Context, string)              {}

// sourceLines reads the source lines of a batch of records, per Lines entry, grouped by
// parent key.
func (r *run) sourceLines(ctx context.Context, keys []string) ([]map[string][]store.Candidate, error) {
	out := make([]map[string][]store.Candidate, len(r.def.Lines))
	for i, l := range r.def.Lines {
		if l.SourceEntity == "" {
			continue
		}
		recs, err := r.s.store.RecordsByField(ctx, r.flow.SourceConnectionID, l.SourceEntity, l.SourceParent, keys)
		if err != nil {
			return nil, err
		}
		out[i] = map[string][]store.Candidate{}
		for _, rec := range recs {
			fields, err := decodeFields(rec.Fields)
			if err != nil {
				return nil, err
			}
			parent := Text(fields[l.SourceParent])
			out[i][parent] = append(out[i][parent], rec)
		}
	}
	return out, nil
}

func (r *run) decide(it *Item, force bool, lines []map[string][]store.Candidate, targets map[string]store.Candidate) {
	skip := func(why string) { it.Action, it.Reason = "skip", why }
	fail := func(why string) { it.Action, it.Reason, it.op, it.Fields, it.Lines = "fail", why, "", nil, nil }
	l := it.link
	linked := l != nil && l.State == store.LinkLinked
	pending := l != nil && l.State == store.LinkPending
	if it.cand.State == store.RecordGone {
		if !linked && !pending {
			skip("gone upstream; never written")
			return
		}
		switch {
		case r.def.Removal.Policy == RemoveNothing || it.TargetKey == "":
			it.Action, it.Reason = "unlink", "gone upstream; the target record is left as it is"
		case r.def.Removal.Policy == RemoveDelete:
			it.Action, it.op, it.Reason = "delete", driver.OpDelete, "gone upstream; removal policy delete"
		default:
			it.Action, it.op, it.Reason = "deactivate", driver.OpUpdate, "gone upstream; removal policy deactivate"
			it.Fields = r.def.Removal.Set
		}
		return
	}
	rec, err := decodeFields(it.cand.Fields)
	if err != nil {
		fail(err.Error())
		return
	}
	if ok, why := r.def.Condition.Match(it.Key, rec); !ok {
		skip(why)
		return
	}
	if linked && !force && l.SourceHash == it.cand.Hash {
		skip("unchanged since it was written")
		return
	}
	switch {
	case r.def.WriteMode == ModeCreate && linked:
		skip(fmt.Sprintf("already created as %s; write mode create writes each record once", l.TargetKey))
		return
	case r.def.WriteMode == ModeUpdate:
		it.Action, it.op = "update", driver.OpUpdate
	case pending:
		it.Action, it.op = "upsert", driver.OpUpsert
		it.Reason = "an earlier write may have landed: written again by key"
	case linked: // an update by the linked key: with priority, only some fields are sent
		it.Action, it.op = "update", driver.OpUpdate
	case r.def.WriteMode == ModeUpsert && r.keyMapped:
		it.Action, it.op = "upsert", driver.OpUpsert
	default:
		it.Action, it.op = "create", driver.OpCreate
	}
	fields, err := MapFields(r.def.Fields, rec, nil)
	if err != nil {
		fail(err.Error())
		return
	}
	for i, ld := range r.def.Lines {
		var srcLines []map[string]any
		var lineKeys []string
		if ld.SourceEntity != "" {
			for _, c := range lines[i][it.Key] {
				f, err := decodeFields(c.Fields)
				if err != nil {
					fail(err.Error())
					return
				}
				srcLines, lineKeys = append(srcLines, f), append(lineKeys, c.Key)
			}
		} else {
			arr, _ := rec[ld.SourceField].([]any)
			for n, x := range arr {
				f, _ := x.(map[string]any)
				srcLines, lineKeys = append(srcLines, f), append(lineKeys, fmt.Sprint(n+1))
			}
		}
		var mapped []any
		for n, sl := range srcLines {
			out, err := MapFields(ld.Fields, sl, fields)
			if err != nil {
				fail(fmt.Sprintf("line %s: %v", lineKeys[n], err))
				return
			}
			if ld.TargetField != "" {
				mapped = append(mapped, out)
			} else {
				it.Lines = append(it.Lines, LineItem{Entity: ld.TargetEntity, Fields: out})
			}
		}
		if ld.TargetField != "" {
			fields[ld.TargetField] = mapped
		}
	}
	if linked && r.def.Priority != PrioritySource {
		r.applyPriority(it, fields, targets)
	}
	it.Fields = fields
}

// applyPriority leaves out of an update the fields the target changed since the flow
// last wrote them, when the target wins (priority target, or newest with the target
// record changed after the source record).
func (r *run) applyPriority(it *Item, fields map[string]any, targets map[string]store.Candidate) {
	t, ok := targets[it.link.TargetKey]
	if !ok {
		return
	}
	current, err := decodeFields(t.Fields)
	if err != nil {
		return
	}
	written, err := decodeFields(or(it.link.Written, "{}"))
	if err != nil {
		return
	}
	targetWins := r.def.Priority == PriorityTarget || t.UpdatedAt.After(it.cand.UpdatedAt)
	var kept []string
	for name := range fields {
		prev, was := written[name]
		if !was || sameValue(current[name], prev) || !targetWins {
			continue
		}
		delete(fields, name)
		kept = append(kept, name)
	}
	if len(kept) > 0 {
		slices.Sort(kept)
		it.Reason = fmt.Sprintf("kept the target's %s (changed there; priority %s)", strings.Join(kept, ", "), r.def.Priority)
	}
}

// execute writes a planned batch and commits its outcome (see "Exactly-once effect").
func (r *run) execute(ctx context.Context, items []Item) error {
	var pending []store.Link
	var writes []driver.WriteRecord
	var writeIdx []int
	fresh := map[string]bool{} // pending links made by this batch
	for i := range items {
		it := &items[i]
		if it.op == "" {
			continue
		}
		if it.op != driver.OpDelete && it.op != driver.OpUpdate && (it.link == nil || it.link.State != store.LinkPending) &&
			(it.link == nil || it.link.State != store.LinkLinked) {
			l := r.newLink(it)
			l.State, l.SourceHash = store.LinkPending, it.cand.Hash
			pending = append(pending, l)
			fresh[it.Key] = true
		}
		key := ""
		if it.op == driver.OpUpdate || it.op == driver.OpDelete {
			key = it.TargetKey // "" in update mode without a link: the key comes from the mapped key fields
		}
		writes = append(writes, driver.WriteRecord{Key: key, Op: it.op, Fields: it.Fields})
		writeIdx = append(writeIdx, i)
	}
	if err := r.s.store.SaveLinks(ctx, pending); err != nil {
		return err
	}
	if len(writes) > 0 {
		results, err := r.tgt.w.Write(ctx, r.tgt.cfg, r.flow.TargetEntity, writes)
		if err != nil {
			return fmt.Errorf("write to %s %s: %w", r.tgt.conn.Name, r.flow.TargetEntity, err)
		}
		if len(results) != len(writes) {
			return fmt.Errorf("write to %s %s: %d results for %d records", r.tgt.conn.Name, r.flow.TargetEntity, len(results), len(writes))
		}
		for n, i := range writeIdx {
			items[i].result = results[n]
		}
		if err := r.writeLines(ctx, items); err != nil {
			return err
		}
	}
	b := store.FlowBatch{FlowID: r.flow.ID, JobID: r.jobID, Counters: store.Counters{Read: int64(len(items))}}
	var actions []store.Link
	for i := range items {
		it := &items[i]
		switch it.Action {
		case "skip":
			b.Counters.Skipped++
			b.Cleared = append(b.Cleared, it.Key)
			l := r.newLink(it)
			switch {
			case it.link != nil && it.link.State == store.LinkPending:
				continue // keep the trace of a write that may have landed
			case it.link != nil && it.link.State == store.LinkLinked:
				l.SourceHash = it.cand.Hash
			default:
				l.State, l.SourceHash, l.Reason = store.LinkSkipped, it.cand.Hash, it.Reason
			}
			b.Links = append(b.Links, l)
		case "fail":
			b.Counters.Failed++
			b.Failures = append(b.Failures, store.Failure{SourceKey: it.Key, SourceHash: it.cand.Hash, Reason: r.scrub(it.Reason)})
		case "unlink":
			b.Counters.Skipped++
			l := r.newLink(it)
			l.State, l.Reason = store.LinkRemoved, it.Reason
			b.Links = append(b.Links, l)
		default:
			res := it.result
			if !res.OK {
				b.Counters.Failed++
				it.Action, it.Reason = "fail", "the target refused it: "+res.Error
				b.Failures = append(b.Failures, store.Failure{SourceKey: it.Key, SourceHash: it.cand.Hash, Reason: r.scrub(it.Reason)})
				if fresh[it.Key] {
					b.Unlink = append(b.Unlink, it.Key) // the driver rolled the record back: nothing landed
				}
				continue
			}
			l := r.newLink(it)
			switch {
			case res.Key != "":
				l.TargetKey, it.TargetKey = res.Key, res.Key
			case it.TargetKey != "":
				l.TargetKey = it.TargetKey
			}
			l.SourceHash = it.cand.Hash
			b.Cleared = append(b.Cleared, it.Key)
			switch it.Action {
			case "delete", "deactivate":
				l.State, l.Reason = store.LinkRemoved, it.Reason
				b.Counters.Updated++
			default:
				l.State, l.Reason = store.LinkLinked, ""
				w, _ := json.Marshal(it.Fields)
				l.Written = string(w)
				if it.op == driver.OpCreate || (it.op == driver.OpUpsert && (it.link == nil || it.link.State != store.LinkLinked)) {
					b.Counters.Inserted++
				} else {
					b.Counters.Updated++
				}
				if len(r.def.OnSuccess) > 0 && l.ActionState != "done" {
					l.ActionState = "pending"
					actions = append(actions, l)
				}
			}
			if it.lineError != "" {
				// The parent landed, its lines did not all: keep the link pending so that a
				// retry writes the record and its lines again by key.
				l.State, l.ActionState = store.LinkPending, ""
				b.Counters.Failed++
				b.Failures = append(b.Failures, store.Failure{SourceKey: it.Key, SourceHash: it.cand.Hash, Reason: r.scrub(it.lineError)})
				b.Cleared = b.Cleared[:len(b.Cleared)-1]
				if n := len(actions); n > 0 && actions[n-1].SourceKey == l.SourceKey {
					actions = actions[:n-1]
				}
			}
			b.Links = append(b.Links, l)
		}
	}
	if err := r.s.store.CommitFlowBatch(ctx, b); err != nil {
		return err
	}
	return r.doActions(ctx, actions)
}

// newLink is the link of an item as it is before this run changes it.
func (r *run) newLink(it *Item) store.Link {
	if it.link != nil {
		l := *it.link
		l.JobID = r.jobIDPtr()
		return l
	}
	return store.Link{FlowID: r.flow.ID, SourceKey: it.Key, JobID: r.jobIDPtr()}
}

func (r *run) jobIDPtr() *int64 {
	if r.jobID == 0 {
		return nil
	}
	id := r.jobID
	return &id
}

// writeLines writes the lines of the records the target accepted, by upsert, per target
// entity; a refused line marks its record's lineError.
func (r *run) writeLines(ctx context.Context, items []Item) error {
	byEntity := map[string][]driver.WriteRecord{}
	owner := map[string][]int{}
	for i := range items {
		it := &items[i]
		if !it.result.OK || it.op == driver.OpDelete {
			continue
		}
		for _, ln := range it.Lines {
			byEntity[ln.Entity] = append(byEntity[ln.Entity], driver.WriteRecord{Op: driver.OpUpsert, Fields: ln.Fields})
			owner[ln.Entity] = append(owner[ln.Entity], i)
		}
	}
	for entity, recs := range byEntity {
		results, err := r.tgt.w.Write(ctx, r.tgt.cfg, entity, recs)
		if err != nil {
			return fmt.Errorf("write lines to %s %s: %w", r.tgt.conn.Name, entity, err)
		}
		for n, res := range results {
			if !res.OK && n < len(owner[entity]) {
				it := &items[owner[entity][n]]
				if it.lineError == "" {
					it.lineError = fmt.Sprintf("the target refused a line of %s: %s", entity, res.Error)
				}
			}
		}
	}
	return nil
}

// finishActions redoes on-success actions a crash left unconfirmed.
func (r *run) finishActions(ctx context.Context) error {
	if len(r.def.OnSuccess) == 0 {
		return nil
	}
	for {
		page, err := r.s.store.ListLinks(ctx, store.LinkFilter{FlowID: r.flow.ID, ActionPending: true, Limit: batchSize})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := r.doActions(ctx, page); err != nil {
			return err
		}
		if len(page) < batchSize {
			return nil
		}
	}
}

// doActions sets the on-success fields on the source records of links, then marks the
// actions done. An action the source refuses stays pending, is logged, and is tried again
// by the next run.
func (r *run) doActions(ctx context.Context, links []store.Link) error {
	if len(links) == 0 {
		return nil
	}
	if r.src.w == nil {
		return fmt.Errorf("%w: the driver of %q cannot write the on-success action", driver.ErrConfig, r.src.conn.Name)
	}
	recs := make([]driver.WriteRecord, len(links))
	for i, l := range links {
		recs[i] = driver.WriteRecord{Key: l.SourceKey, Op: driver.OpUpdate, Fields: r.def.OnSuccess}
	}
	results, err := r.src.w.Write(ctx, r.src.cfg, r.flow.SourceEntity, recs)
	if err != nil {
		return fmt.Errorf("on-success action on %s %s: %w", r.src.conn.Name, r.flow.SourceEntity, err)
	}
	var done []store.Link
	for i, res := range results {
		if i >= len(links) {
			break
		}
		if !res.OK {
			r.warn(fmt.Sprintf("on-success action on %s refused, tried again next run: %s", links[i].SourceKey, res.Error))
			continue
		}
		l := links[i]
		l.ActionState = "done"
		done = append(done, l)
	}
	return r.s.store.SaveLinks(ctx, done)
}

// writeBack applies the write-back rules to linked records whose target changed in the
// mirror since write-back last looked.
func (r *run) writeBack(ctx context.Context) error {
	if !r.keyMapped {
		if err := r.resolveLinkKeys(ctx); err != nil {
			return err
		}
	}
	after := ""
	written := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		cands, err := r.s.store.WritebackCandidates(ctx, r.flow, after, batchSize)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			break
		}
		after = cands[len(cands)-1].Link.SourceKey
		var seen, sends []store.Link
		var recs []driver.WriteRecord
		for _, c := range cands {
			l := c.Link
			l.TargetHash = c.Hash
			desired := l.WritebackPending
			if desired == "" {
				tf, err := decodeFields(c.Fields)
				if err != nil {
					return err
				}
				for _, rule := range r.def.WriteBack {
					if slices.Contains(rule.In, Text(tf[rule.Field])) {
						b, _ := json.Marshal(rule.Set)
						desired = string(b)
						break
					}
				}
			}
			if desired == "" || (desired == l.WritebackValue && l.WritebackPending == "") {
				seen = append(seen, l)
				continue
			}
			var set map[string]any
			_ = json.Unmarshal([]byte(desired), &set)
			l.WritebackPending = desired
			sends = append(sends, l)
			recs = append(recs, driver.WriteRecord{Key: l.SourceKey, Op: driver.OpUpdate, Fields: set})
		}
		if err := r.s.store.SaveLinks(ctx, append(seen, sends...)); err != nil {
			return err
		}
		if len(recs) == 0 {
			continue
		}
		if r.src.w == nil {
			return fmt.Errorf("%w: the driver of %q cannot write back", driver.ErrConfig, r.src.conn.Name)
		}
		results, err := r.src.w.Write(ctx, r.src.cfg, r.flow.SourceEntity, recs)
		if err != nil {
			return fmt.Errorf("write back to %s %s: %w", r.src.conn.Name, r.flow.SourceEntity, err)
		}
		var done []store.Link
		for i, res := range results {
			if i >= len(sends) {
				break
			}
			if !res.OK {
				r.warn(fmt.Sprintf("write-back to %s refused, tried again next run: %s", sends[i].SourceKey, res.Error))
				continue
			}
			l := sends[i]
			l.WritebackValue, l.WritebackPending = l.WritebackPending, ""
			done = append(done, l)
		}
		// The links and the counter commit together: the counter says what is recorded.
		if err := r.s.store.CommitFlowBatch(ctx, store.FlowBatch{FlowID: r.flow.ID, JobID: r.jobID, Links: done,
			Counters: store.Counters{Updated: int64(len(done))}}); err != nil {
			return err
		}
		written += len(done)
	}
	if written > 0 {
		r.info(fmt.Sprintf("wrote back to %d source records", written))
	}
	return nil
}

// resolveLinkKeys finds in the target's mirror the keys of records created in a target
// that makes its own keys, by the reference value the flow wrote.
func (r *run) resolveLinkKeys(ctx context.Context) error {
	after := ""
	for {
		page, err := r.s.store.ListLinks(ctx, store.LinkFilter{FlowID: r.flow.ID, State: store.LinkLinked, NoTargetKey: true,
			AfterKey: after, Limit: batchSize})
		if err != nil || len(page) == 0 {
			return err
		}
		after = page[len(page)-1].SourceKey
		refs := make([]string, len(page))
		for i, l := range page {
			written, err := decodeFields(or(l.Written, "{}"))
			if err != nil {
				return err
			}
			refs[i] = Text(written[r.def.Reference])
		}
		found, err := r.findByReference(ctx, refs, false)
		if err != nil {
			return err
		}
		var resolved []store.Link
		for i, l := range page {
			if key, ok := found[refs[i]]; ok && refs[i] != "" {
				l.TargetKey = key
				resolved = append(resolved, l)
			}
		}
		if err := r.s.store.SaveLinks(ctx, resolved); err != nil {
			return err
		}
		if len(page) < batchSize {
			return nil
		}
	}
}

// DryRun plans a run over the chosen records (or the first limit records the next run
// would handle) and returns what it would do, writing nothing.
func (s *Service) DryRun(ctx context.Context, workspaceID, id int64, keys []string, limit int) ([]Item, error) {
	f, err := s.store.GetFlow(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	r, err := s.prepare(ctx, f, 0, nil)
	if err != nil {
		return nil, err
	}
	r.dry = true
	if limit <= 0 || limit > 1000 {
		limit = 20
	}
	var cands []store.Candidate
	force := len(keys) > 0
	if force {
		if len(keys) > limit {
			keys = keys[:limit]
		}
		cands, err = s.store.RecordsByKeys(ctx, f.SourceConnectionID, f.SourceEntity, keys)
	} else {
		cands, err = s.store.FlowCandidates(ctx, f, "", limit)
	}
	if err != nil {
		return nil, err
	}
	items, err := r.plan(ctx, cands, force)
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Reason = r.scrub(items[i].Reason)
	}
	return items, nil
}

func (r *run) scrub(s string) string {
	for _, v := range r.secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, driver.Mask)
		}
	}
	return s
}

func (r *run) info(msg string) {
	if r.log != nil {
		r.log.Info(msg)
	}
}

func (r *run) warn(msg string) {
	if r.log != nil {
		r.log.Warn(msg)
	}
}
