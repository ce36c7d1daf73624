package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/liaison/liaison/internal/db"
)

// WatchDatabase adds the process's database pool, read at every scrape:
// the go_sql_* series of database/sql's statistics (db_name="liaison"),
// among them go_sql_wait_count_total and go_sql_wait_duration_seconds_total
// for the work that waited for a free connection because the pool was at
// DATABASE_POOL_SIZE, and liaison_db_connect_retries_total for the new
// connections tried again because PostgreSQL was full or starting up.
// Waits that grow with the load mean the pool is too small for it; retries
// mean PostgreSQL has fewer connections than the processes' pools add up to.
func (m *Metrics) WatchDatabase(d *db.DB) {
	m.reg.MustRegister(
		collectors.NewDBStatsCollector(d.DB, "liaison"),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "liaison_db_connect_retries_total",
			Help: "New database connections tried again because PostgreSQL refused them for being full (too many clients, or the role's connection limit) or starting up.",
		}, func() float64 { return float64(d.ConnectRetries()) }),
	)
}
