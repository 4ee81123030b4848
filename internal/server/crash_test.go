package server_test

import (
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/testdb"
)

// TestCrashesDuringSyncs kills `junction serve` with SIGKILL again and again at random
// moments of syncs from a PostgreSQL source that keeps changing, restarts it each time,
// and then checks, over the API only, that the mirror equals the source row by row and
// that the jobs' counters add up: a crash at any moment loses no record and doubles none.
//
// It runs on both stores: on SQLite a restarted server requeues the jobs it was running at
// once; on PostgreSQL, where other nodes may be running them, once their heartbeats are
// older than --lost-after.
//
// The run is random: the seed is logged, and JUNCTION_CRASH_SEED replays its choices (where
// the server stands when they are made still varies from run to run).
func TestCrashesDuringSyncs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it many times")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("JUNCTION_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (JUNCTION_CRASH_SEED=%d replays this run)", seed, seed)
	bin := buildJunction(t)
	t.Run("sqlite", func(t *testing.T) { crashDuringSyncs(t, bin, seed) })
	t.Run("postgres", func(t *testing.T) {
		dsn, _ := testdb.Postgres(t)
		crashDuringSyncs(t, bin, seed+1, "--database", dsn, "--heartbeat", "500ms", "--lost-after", "2s")
	})
}

func crashDuringSyncs(t *testing.T, bin string, seed uint64, storeArgs ...string) {
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	const rows, rounds = 120_000, 12
	src := seedItems(t, rows)
	dataDir := t.TempDir()
	token := "jct_crash_test_token_0123456789"
	addr := freeAddr(t)
	start := func() *process {
		// Each life of the server reads pages of another size: a resume does not depend on it.
		pageSize := 200 + rng.IntN(301)
		args := append([]string{"--page-size", strconv.Itoa(pageSize), "--poll-interval", "50ms"}, storeArgs...)
		p := startProcess(t, bin, dataDir, token, addr, args...)
		t.Logf("  server up, page size %d", pageSize)
		return p
	}
	client := &servertest.Instance{URL: "http://" + addr, Token: token}
	p := start()
	created := createPostgres(t, client, "items", src, nil)
	connID, jobID := created.Connection.ID, *created.JobID

	// active returns the connection's pending or running sync, or 0.
	active := func() int64 {
		for _, j := range listJobs(t, client, connID) {
			if j.Kind == "sync" && (j.State == "pending" || j.State == "running") {
				return j.ID
			}
		}
		return 0
	}
	// Kinds of moments to kill at. The first three rounds use each once, in this order, so
	// every run has a kill in the middle of the initial full sync (which must then resume
	// from a checkpoint), one right as a job starts, and one at a random moment.
	// The first two wait until this process works the job: on PostgreSQL a job the previous
	// process was running shows "running" until its heartbeat is old enough to requeue it.
	const (
		midSync = iota // once the job has read a random number of records, plus a few ms: inside a page
		atStart        // as soon as the job is running
		anyTime        // after a random pause, whatever is going on (maybe nothing)
	)
	names := []string{"mid-sync", "at start", "any time"}
	killed := map[int64]int{} // job id → kills while it was running
	for round := range rounds {
		how := round
		if round >= 3 {
			how = rng.IntN(3)
		}
		if round > 0 {
			jobID = active()
			ask, mode := rng.IntN(4) == 0, "full"
			if rng.IntN(3) == 0 {
				mode = "incremental"
			}
			if jobID == 0 || ask {
				id, existing := startSync(t, client, connID, mode)
				t.Logf("round %d: asked for a %s sync: job %d (existing %v)", round, mode, id, existing)
				jobID = id
			}
		}
		if rng.IntN(2) == 0 {
			t.Logf("round %d: source changes while the server runs: %s", round, src.mutate(t, rng))
		}
		var last jobInfo
		switch how {
		case midSync:
			// Counters add up over attempts: count from what the job had read when this
			// process took it.
			step, threshold := int64(1+rng.IntN(rows/3)), int64(-1)
			deadline := time.Now().Add(time.Minute)
			for {
				last = getJob(t, client, jobID)
				if threshold < 0 && last.State == "running" && last.Node == p.node {
					threshold = last.Progress.Read + step
				}
				if threshold >= 0 && last.Progress.Read >= threshold || last.State == "succeeded" || last.State == "failed" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("round %d: job %d made no progress: %+v\n%s", round, jobID, last, p.logTail(30))
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		case atStart:
			deadline := time.Now().Add(time.Minute)
			for {
				last = getJob(t, client, jobID)
				if last.State == "running" && last.Node == p.node || last.State == "succeeded" || last.State == "failed" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("round %d: job %d never started: %+v\n%s", round, jobID, last, p.logTail(30))
				}
				time.Sleep(time.Millisecond)
			}
		case anyTime:
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
			last = getJob(t, client, jobID)
		}
		p.kill(t)
		if last.State == "running" && last.Node == p.node {
			killed[jobID]++
		}
		t.Logf("round %d: killed %s; job %d was %s on %q, %d read, attempt %d", round, names[how], jobID, last.State,
			last.Node, last.Progress.Read, last.Attempts)
		t.Logf("round %d: source changes while the server is down: %s", round, src.mutate(t, rng))
		p = start()
	}

	// Let whatever was interrupted finish, then one last full sync, untouched, settles the
	// mirror: every row the source has now is live, every other record is gone.
	waitIdle(t, client, 3*time.Minute)
	finalID, existing := startSync(t, client, connID, "full")
	for existing { // a sync someone else started (a schedule): let it end, then ask again
		client.WaitJob(t, finalID, 3*time.Minute)
		finalID, existing = startSync(t, client, connID, "full")
	}
	final := client.WaitJob(t, finalID, 3*time.Minute)
	if final.State != "succeeded" {
		t.Fatalf("final full sync: %+v\n%s", final, p.logTail(30))
	}
	mirror := compareMirror(t, client, connID, src)
	live := len(src.rows(t))

	// The jobs: none left pending or running, every sync succeeded, and the counters add
	// up. Counters commit in the same transaction as their page, so a killed attempt's
	// uncommitted page counts nowhere and its resumed attempt counts it once. Therefore:
	//  - each job: read = inserted + updated + unchanged, whatever happened to it, because
	//    every record of a committed page counts in exactly one of the three;
	//  - all jobs together: inserted = the number of distinct keys ever mirrored (records
	//    are never removed, gone ones are kept), because a key is inserted exactly once,
	//    in the committed page that first held it;
	//  - all jobs together: gone ≥ the records gone now (a record may go, come back and
	//    go again, but never goes without being counted);
	//  - the final full sync, run with the source at rest and never interrupted: read =
	//    the source's rows, one attempt. Earlier jobs read rows changed during their run
	//    twice (once at each place in updated_at order), so their read has no exact value.
	var inserted, gone, resumed int64
	for _, j := range listJobs(t, client, 0) {
		if j.State == "pending" || j.State == "running" {
			t.Fatalf("job %d still %s", j.ID, j.State)
		}
		if j.Kind != "sync" {
			continue
		}
		if j.State != "succeeded" {
			t.Fatalf("sync job %d %s: %s", j.ID, j.State, j.Error)
		}
		c := j.Progress
		if c.Read != c.Inserted+c.Updated+c.Unchanged || c.Written != c.Inserted+c.Updated {
			t.Fatalf("job %d counters do not add up: %+v", j.ID, c)
		}
		inserted += c.Inserted
		gone += c.Gone
		if j.Attempts > 1 {
			full := getJob(t, client, j.ID)
			for _, l := range full.Log {
				if strings.Contains(l.Message, "resuming") {
					resumed++
					break
				}
			}
		}
		t.Logf("job %d: attempts %d, seen running just before %d kills; %+v", j.ID, j.Attempts, killed[j.ID], c)
	}
	var goneNow int64
	for _, r := range mirror {
		if r.State == "gone" {
			goneNow++
		}
	}
	if inserted != int64(len(mirror)) {
		t.Fatalf("the jobs inserted %d records in all, the mirror holds %d distinct keys", inserted, len(mirror))
	}
	if gone < goneNow {
		t.Fatalf("the jobs marked %d records gone in all, yet %d are gone", gone, goneNow)
	}
	if c := final.Progress; c.Read != int64(live) || final.Attempts != 1 {
		t.Fatalf("final full sync read %d records in %d attempts; the source has %d rows", c.Read, final.Attempts, live)
	}
	if resumed == 0 {
		t.Fatal("no job resumed from a checkpoint, though the initial sync was killed mid-way")
	}
	t.Logf("%d kills; mirror: %d records, %d live, %d gone; %d jobs resumed from a checkpoint", rounds, len(mirror), live,
		goneNow, resumed)
	if code := client.Do(t, "GET", "/healthz", nil, nil); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
}
