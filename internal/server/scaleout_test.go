package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/testdb"
)

// TestScaleOutTakesOverKilledNode runs two `junction serve` processes on one PostgreSQL
// store. Both work jobs; the node running a big sync is killed with SIGKILL in the middle
// of it, and the other node must notice (its heartbeats stop), take the job over, resume it
// from its checkpoint and finish it, with nothing lost or doubled.
func TestScaleOutTakesOverKilledNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const rows, smallRows, smalls = 150_000, 2_000, 6
	storeDSN, _ := testdb.Postgres(t)
	src := seedItems(t, rows)
	if _, err := src.db.Exec(fmt.Sprintf(`CREATE TABLE small (id INT PRIMARY KEY, label TEXT NOT NULL);
		INSERT INTO small SELECT g, 'row ' || g FROM generate_series(1, %d) g;`, smallRows)); err != nil {
		t.Fatal(err)
	}
	bin := buildJunction(t)
	token := "jct_scaleout_test_token_0123456789"
	env := []string{"JUNCTION_SECRET_KEY=scale-out-test-secret-key-0123456789"}
	args := []string{"--database", storeDSN, "--page-size", "300", "--workers", "2",
		"--heartbeat", "1s", "--lost-after", "4s", "--poll-interval", "100ms"}
	// One after the other: the first sets up the empty store (migrations, first token).
	nodes := []*process{
		startProcessEnv(t, bin, env, t.TempDir(), token, freeAddr(t), args...),
		startProcessEnv(t, bin, env, t.TempDir(), token, freeAddr(t), args...),
	}
	clients := make([]*servertest.Instance, len(nodes))
	for i, n := range nodes {
		clients[i] = &servertest.Instance{URL: "http://" + n.addr, Token: token}
	}
	if nodes[0].node == "" || nodes[0].node == nodes[1].node {
		t.Fatalf("nodes %q and %q: want two distinct names", nodes[0].node, nodes[1].node)
	}

	// The big sync, then small ones asked of either node, so both have work.
	big := createPostgres(t, clients[0], "big", src, map[string]any{"tables": "items"})
	bigJob := *big.JobID
	var small []int64
	for i := range smalls {
		c := createPostgres(t, clients[i%2], fmt.Sprintf("small %d", i), src, map[string]any{"tables": "small"})
		small = append(small, c.Connection.ID)
	}

	// Find the node running the big sync once it is well under way, and kill it.
	deadline := time.Now().Add(2 * time.Minute)
	var j jobInfo
	for {
		j = getJob(t, clients[1], bigJob)
		if j.State == "running" && j.Node != "" && j.Progress.Read >= rows/10 {
			break
		}
		if j.State != "running" && j.State != "pending" || time.Now().After(deadline) {
			t.Fatalf("the big sync did not get under way: %+v", j)
		}
		time.Sleep(5 * time.Millisecond)
	}
	victim := -1
	for i, n := range nodes {
		if n.node == j.Node {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("job %d runs on node %q, which is neither %q nor %q", bigJob, j.Node, nodes[0].node, nodes[1].node)
	}
	survivor := 1 - victim
	nodes[victim].kill(t)
	t.Logf("killed node %s mid-sync at %d records read; %s must take over", nodes[victim].node, j.Progress.Read, nodes[survivor].node)

	c := clients[survivor]
	done := c.WaitJob(t, bigJob, 3*time.Minute)
	final := getJob(t, c, bigJob)
	if done.State != "succeeded" || final.Attempts < 2 || final.Node != nodes[survivor].node {
		t.Fatalf("big sync after its node died: %+v; want succeeded by %s on a later attempt\n%s", final, nodes[survivor].node,
			nodes[survivor].logTail(30))
	}
	if !logHas(final, "stopped responding") || !logHas(final, "resuming") {
		t.Fatalf("big sync's log does not show the takeover and the resume: %+v", final.Log)
	}
	// The source did not change: across both nodes' attempts every row counts once.
	if p := final.Progress; p.Read != rows || p.Inserted != rows {
		t.Fatalf("big sync counters %+v; want %d read and inserted", p, rows)
	}
	compareMirror(t, c, big.Connection.ID, src)

	// Every job ends; the small syncs mirrored every row; log who ran what.
	waitIdle(t, c, 2*time.Minute)
	ran := map[string]int{}
	for _, j := range listJobs(t, c, 0) {
		if j.State != "succeeded" {
			t.Fatalf("job %d %s: %s", j.ID, j.State, j.Error)
		}
		ran[j.Node]++
		t.Logf("job %d (%s) ran on %s, attempts %d, read %d", j.ID, j.Kind, j.Node, j.Attempts, j.Progress.Read)
	}
	for _, id := range small {
		m := readMirror(t, c, id)
		if len(m) != smallRows {
			t.Fatalf("small connection %d: %d records, want %d", id, len(m), smallRows)
		}
	}
	t.Logf("jobs finished per node: %v", ran)
}
