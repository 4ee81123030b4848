package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-hub/junction/internal/store"
)

// Metrics are the job figures /metrics serves.
type Metrics struct {
	JobsByState    *prometheus.GaugeVec
	JobDuration    *prometheus.HistogramVec
	RecordsSynced  *prometheus.CounterVec
	registry       *prometheus.Registry
	knownJobStates []string
}

// NewMetrics registers Junction's metrics on reg.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		JobsByState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "junction_jobs", Help: "Jobs in the store by state.",
		}, []string{"state"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "junction_job_duration_seconds", Help: "How long job attempts ran, by kind and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.05, 4, 10),
		}, []string{"kind", "outcome"}),
		RecordsSynced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_records_synced_total", Help: "Records read by syncs, by what the sync did with them.",
		}, []string{"result"}),
		registry:       reg,
		knownJobStates: []string{store.JobPending, store.JobRunning, store.JobSucceeded, store.JobFailed, store.JobCancelled},
	}
	reg.MustRegister(m.JobsByState, m.JobDuration, m.RecordsSynced)
	return m
}

func (m *Metrics) observe(kind string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.JobDuration.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

// CountRecords adds a sync page's counters.
func (m *Metrics) CountRecords(c store.Counters) {
	if m == nil {
		return
	}
	m.RecordsSynced.WithLabelValues("inserted").Add(float64(c.Inserted))
	m.RecordsSynced.WithLabelValues("updated").Add(float64(c.Updated))
	m.RecordsSynced.WithLabelValues("unchanged").Add(float64(c.Unchanged))
	m.RecordsSynced.WithLabelValues("gone").Add(float64(c.Gone))
}

func (m *Metrics) refreshJobStates(ctx context.Context, st *store.Store) {
	counts, err := st.JobStateCounts(ctx)
	if err != nil {
		return
	}
	for _, s := range m.knownJobStates {
		m.JobsByState.WithLabelValues(s).Set(float64(counts[s]))
	}
}

// Refresh updates the job gauges now (the watcher does it every few seconds).
func (m *Metrics) Refresh(ctx context.Context, st *store.Store) { m.refreshJobStates(ctx, st) }
