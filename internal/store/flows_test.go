package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func newFlow(t *testing.T, s *Store, ws int64, name string, src, tgt int64) Flow {
	t.Helper()
	f := Flow{WorkspaceID: ws, Name: name, SourceConnectionID: src, SourceEntity: "items", TargetConnectionID: tgt,
		TargetEntity: "things", Trigger: "automatic", Definition: `{"name":"` + name + `"}`}
	if err := s.CreateFlow(context.Background(), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func candidateKeys(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Key)
	}
	return out
}

func TestFlowsCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws1, _ := s.EnsureWorkspace(ctx, "one")
		ws2, _ := s.EnsureWorkspace(ctx, "two")
		a, _ := newConnection(t, s, ws1.ID, "a")
		b, _ := newConnection(t, s, ws1.ID, "b")
		f := newFlow(t, s, ws1.ID, "orders", a.ID, b.ID)
		dup := Flow{WorkspaceID: ws1.ID, Name: "orders", SourceConnectionID: a.ID, TargetConnectionID: b.ID, Definition: "{}"}
		if err := s.CreateFlow(ctx, &dup); !errors.Is(err, ErrConflict) {
			t.Fatalf("same name again: %v, want ErrConflict", err)
		}
		if _, err := s.GetFlow(ctx, ws2.ID, f.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another workspace's flow: %v, want ErrNotFound", err)
		}
		if err := s.SaveLinks(ctx, []Link{{FlowID: f.ID, SourceKey: "8", State: LinkSkipped, SourceHash: "h"},
			{FlowID: f.ID, SourceKey: "9", TargetKey: "T9", State: LinkLinked, SourceHash: "h"}}); err != nil {
			t.Fatal(err)
		}
		f.Name, f.Definition = "orders v2", `{"v":2}`
		if err := s.UpdateFlow(ctx, &f); err != nil {
			t.Fatal(err)
		}
		// A new definition judges the records the old condition left out again; links stay.
		if links, _ := s.Links(ctx, f.ID, []string{"8", "9"}); len(links) != 1 || links["9"].TargetKey != "T9" {
			t.Fatalf("links after update: %+v; want only the linked one", links)
		}
		got, err := s.GetFlow(ctx, ws1.ID, f.ID)
		if err != nil || got.Name != "orders v2" || got.Definition != `{"v":2}` || got.SourceConnectionID != a.ID {
			t.Fatalf("after update: %+v, %v", got, err)
		}
		other := newFlow(t, s, ws1.ID, "back", b.ID, a.ID)
		of, err := s.FlowsOfConnection(ctx, a.ID, "automatic")
		if err != nil || len(of) != 2 {
			t.Fatalf("flows of connection a: %+v, %v; want both (one reads, one writes)", of, err)
		}
		if err := s.SaveLinks(ctx, []Link{{FlowID: f.ID, SourceKey: "1", TargetKey: "T1", State: LinkLinked}}); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitFlowBatch(ctx, FlowBatch{FlowID: f.ID, Failures: []Failure{{SourceKey: "2", Reason: "no"}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFlow(ctx, ws2.ID, f.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete from another workspace: %v", err)
		}
		if err := s.DeleteFlow(ctx, ws1.ID, f.ID); err != nil {
			t.Fatal(err)
		}
		links, _ := s.ListLinks(ctx, LinkFilter{FlowID: f.ID})
		failed, _ := s.ListFailures(ctx, f.ID, "", 10)
		if len(links) != 0 || len(failed) != 0 {
			t.Fatalf("a deleted flow left %d links and %d failures", len(links), len(failed))
		}
		list, _ := s.ListFlows(ctx, ws1.ID)
		if len(list) != 1 || list[0].ID != other.ID {
			t.Fatalf("flows left: %+v", list)
		}
	})
}

// TestFlowCandidates checks what a run looks at: records it has not handled at their
// current hash, except those that failed at that hash, plus gone records still linked.
func TestFlowCandidates(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		src, j := newConnection(t, s, ws.ID, "src")
		tgt, _ := newConnection(t, s, ws.ID, "tgt")
		if _, err := s.ApplyPage(ctx, page(ws.ID, src.ID, j.ID, "", [2]string{"1", "a"}, [2]string{"2", "b"},
			[2]string{"3", "c"}, [2]string{"4", "d"}, [2]string{"5", "e"}, [2]string{"6", "f"}, [2]string{"7", "g"},
			[2]string{"8", "h"})); err != nil {
			t.Fatal(err)
		}
		p := page(ws.ID, src.ID, j.ID, "")
		p.Deletes = []string{"6", "7"}
		if _, err := s.ApplyPage(ctx, p); err != nil {
			t.Fatal(err)
		}
		f := newFlow(t, s, ws.ID, "f", src.ID, tgt.ID)
		if err := s.SaveLinks(ctx, []Link{
			{FlowID: f.ID, SourceKey: "1", TargetKey: "T1", State: LinkLinked, SourceHash: "a"},   // handled: not again
			{FlowID: f.ID, SourceKey: "2", TargetKey: "T2", State: LinkLinked, SourceHash: "old"}, // changed since
			{FlowID: f.ID, SourceKey: "5", State: LinkPending, SourceHash: "e"},                   // may have landed
			{FlowID: f.ID, SourceKey: "6", TargetKey: "T6", State: LinkLinked, SourceHash: "f"},   // gone upstream
			{FlowID: f.ID, SourceKey: "8", State: LinkSkipped, SourceHash: "h", Reason: "status"}, // left out at this hash
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitFlowBatch(ctx, FlowBatch{FlowID: f.ID, Failures: []Failure{{SourceKey: "3", SourceHash: "c", Reason: "unmapped"}}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.FlowCandidates(ctx, f, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if keys := candidateKeys(got); !slices.Equal(keys, []string{"2", "4", "5", "6"}) {
			t.Fatalf("candidates = %v, want 2 (changed), 4 (new), 5 (pending), 6 (gone, linked)", keys)
		}
		if got[3].State != RecordGone || got[0].Fields != `{"v":"b"}` {
			t.Fatalf("candidate details: %+v", got)
		}
		// Paging by key.
		if page, _ := s.FlowCandidates(ctx, f, "4", 1); !slices.Equal(candidateKeys(page), []string{"5"}) {
			t.Fatalf("page after 4 = %v", candidateKeys(page))
		}
		// A failed record that changed is looked at again.
		if _, err := s.ApplyPage(ctx, page(ws.ID, src.ID, j.ID, "", [2]string{"3", "c2"})); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FlowCandidates(ctx, f, "", 100); !slices.Contains(candidateKeys(got), "3") {
			t.Fatalf("a changed failed record is not a candidate: %v", candidateKeys(got))
		}
		byKeys, err := s.RecordsByKeys(ctx, src.ID, "items", []string{"8", "1", "nope"})
		if err != nil || !slices.Equal(candidateKeys(byKeys), []string{"1", "8"}) {
			t.Fatalf("RecordsByKeys = %v, %v", candidateKeys(byKeys), err)
		}
	})
}

func TestFlowBatchesAndClaims(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		src, _ := newConnection(t, s, ws.ID, "src")
		tgt, _ := newConnection(t, s, ws.ID, "tgt")
		f := newFlow(t, s, ws.ID, "f", src.ID, tgt.ID)

		// A run that is still pending is reused; another is made on request.
		j1 := Job{MaxAttempts: 3, Params: `{"flow_id":1}`}
		got, created, err := s.CreateFlowJob(ctx, f, &j1, true)
		if err != nil || !created || got.Kind != KindFlow || *got.ConnectionID != src.ID {
			t.Fatalf("first run: %+v %v %v", got, created, err)
		}
		if stored, _ := s.GetJob(ctx, ws.ID, j1.ID); stored.FlowID == nil || *stored.FlowID != f.ID {
			t.Fatalf("the run's flow = %v, want %d", stored.FlowID, f.ID)
		}
		j2 := Job{MaxAttempts: 3}
		if again, created, _ := s.CreateFlowJob(ctx, f, &j2, true); created || again.ID != j1.ID {
			t.Fatalf("second automatic run while one is pending: created=%v id=%d", created, again.ID)
		}
		j3 := Job{MaxAttempts: 3}
		if _, created, _ := s.CreateFlowJob(ctx, f, &j3, false); !created {
			t.Fatal("a run with chosen records was not created")
		}

		// Runs of one flow never overlap.
		if ok, err := s.ClaimFlowRun(ctx, f.ID, j1.ID); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		if _, err := s.StartJob(ctx, j1.ID, 1, "node"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.ClaimFlowRun(ctx, f.ID, j3.ID); ok {
			t.Fatal("a second run claimed the flow while the first is running")
		}
		if ok, _ := s.ClaimFlowRun(ctx, f.ID, j1.ID); !ok {
			t.Fatal("the running job could not claim its flow again (a resumed attempt)")
		}
		if err := s.FinishJob(ctx, j1.ID, JobSucceeded, ""); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.ClaimFlowRun(ctx, f.ID, j3.ID); !ok {
			t.Fatal("the flow stayed claimed by a finished job")
		}
		if err := s.ReleaseFlowRun(ctx, f.ID, j3.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetFlow(ctx, ws.ID, f.ID); got.LastRunJobID == nil || *got.LastRunJobID != j3.ID {
			t.Fatalf("last run = %v, want %d", got.LastRunJobID, j3.ID)
		}

		// A batch commits links, failures (attempts counted) and counters together.
		if err := s.SaveLinks(ctx, []Link{{FlowID: f.ID, SourceKey: "p", State: LinkPending}, {FlowID: f.ID, SourceKey: "l", State: LinkLinked, TargetKey: "T"}}); err != nil {
			t.Fatal(err)
		}
		b := FlowBatch{FlowID: f.ID, JobID: j3.ID, Unlink: []string{"p", "l"},
			Failures: []Failure{{SourceKey: "x", SourceHash: "h", Reason: "first"}},
			Counters: Counters{Read: 5, Inserted: 2, Updated: 1, Skipped: 1, Failed: 1}}
		if err := s.CommitFlowBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		b = FlowBatch{FlowID: f.ID, JobID: j3.ID, Failures: []Failure{{SourceKey: "x", SourceHash: "h2", Reason: "second"}},
			Counters: Counters{Read: 1, Failed: 1}}
		if err := s.CommitFlowBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		failed, _ := s.ListFailures(ctx, f.ID, "", 10)
		if len(failed) != 1 || failed[0].Reason != "second" || failed[0].Attempts != 2 || failed[0].SourceHash != "h2" {
			t.Fatalf("failures = %+v", failed)
		}
		links, _ := s.Links(ctx, f.ID, []string{"p", "l"})
		if _, ok := links["p"]; ok || links["l"].TargetKey != "T" {
			t.Fatalf("unlink dropped a linked record or kept a pending one: %+v", links)
		}
		job, _ := s.GetJob(ctx, ws.ID, j3.ID)
		if job.Counters != (Counters{Read: 6, Inserted: 2, Updated: 1, Skipped: 1, Failed: 2}) {
			t.Fatalf("counters = %+v", job.Counters)
		}
		if err := s.CommitFlowBatch(ctx, FlowBatch{FlowID: f.ID, JobID: j3.ID, Cleared: []string{"x"}}); err != nil {
			t.Fatal(err)
		}
		if failed, _ := s.ListFailures(ctx, f.ID, "", 10); len(failed) != 0 {
			t.Fatalf("a cleared failure stayed: %+v", failed)
		}
	})
}

func TestRecordsByFieldAndWriteback(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		src, j := newConnection(t, s, ws.ID, "src")
		tgt, jt := newConnection(t, s, ws.ID, "tgt")
		lines := Page{WorkspaceID: ws.ID, ConnectionID: src.ID, JobID: j.ID, Entity: "lines", Records: []PageRecord{
			{Key: "11", Fields: []byte(`{"order_id": 1, "sku": "a"}`), Hash: "1"},
			{Key: "12", Fields: []byte(`{"order_id": 1, "sku": "b"}`), Hash: "2"},
			{Key: "21", Fields: []byte(`{"order_id": "2", "sku": "c"}`), Hash: "3"},
			{Key: "31", Fields: []byte(`{"order_id": 3, "sku": "d"}`), Hash: "4"},
		}}
		if _, err := s.ApplyPage(ctx, lines); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecordsByField(ctx, src.ID, "lines", "order_id", []string{"1", "2"})
		if err != nil || !slices.Equal(candidateKeys(got), []string{"11", "12", "21"}) {
			t.Fatalf("lines of orders 1 and 2 = %v, %v", candidateKeys(got), err)
		}

		f := newFlow(t, s, ws.ID, "f", src.ID, tgt.ID)
		f.TargetEntity = "things"
		things := Page{WorkspaceID: ws.ID, ConnectionID: tgt.ID, JobID: jt.ID, Entity: "things", Records: []PageRecord{
			{Key: "T1", Fields: []byte(`{"status": 30}`), Hash: "h1"},
			{Key: "T2", Fields: []byte(`{"status": 10}`), Hash: "h2"},
			{Key: "T3", Fields: []byte(`{"status": 30}`), Hash: "h3"},
		}}
		if _, err := s.ApplyPage(ctx, things); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveLinks(ctx, []Link{
			{FlowID: f.ID, SourceKey: "1", TargetKey: "T1", State: LinkLinked},                   // never looked at
			{FlowID: f.ID, SourceKey: "2", TargetKey: "T2", State: LinkLinked, TargetHash: "h2"}, // seen as it is
			{FlowID: f.ID, SourceKey: "3", TargetKey: "T3", State: LinkLinked, TargetHash: "h3", WritebackPending: `{"s":4}`},
			{FlowID: f.ID, SourceKey: "4", TargetKey: "T4", State: LinkLinked}, // not in the mirror
		}); err != nil {
			t.Fatal(err)
		}
		wb, err := s.WritebackCandidates(ctx, f, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, c := range wb {
			keys = append(keys, c.Link.SourceKey)
		}
		if !slices.Equal(keys, []string{"1", "3"}) || wb[0].Fields != `{"status": 30}` || wb[0].Hash != "h1" {
			t.Fatalf("write-back candidates = %v %+v; want 1 (target changed) and 3 (write-back unconfirmed)", keys, wb)
		}
	})
}
