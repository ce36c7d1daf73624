package importer

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/db"
)

// Item statuses in the catalogue.
const (
	ItemActive  = "active"
	ItemRemoved = "removed"
)

// CatalogItem is one item an import keeps.
type CatalogItem struct {
	ExternalID string          `json:"external_id"`
	Status     string          `json:"status"`
	Fields     json.RawMessage `json:"fields"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// entry is an item on its way into the catalogue.
type entry struct {
	externalID string
	hash       []byte
	fields     []byte
	pos        int64
	unit       PosUnit
}

// batchCounts is what one upsert did.
type batchCounts struct {
	Created, Updated, Unchanged int64
	duplicates                  []*RowError
}

// catalog writes one run's items.
type catalog struct {
	store    *Store
	importID string
	// runID marks the items this execution of the run has seen
	// (last_seen_run): the run's id and when this execution started, so a
	// run started over after its worker died does not take the items of
	// its first try for duplicates in the feed.
	runID string
	// written counts the items this run has written or touched, and
	// analyzed is the count at which the table's statistics were last
	// refreshed (PostgreSQL).
	written, analyzed int64
}

func newCatalog(s *Store, importID, runID string) *catalog {
	return &catalog{store: s, importID: importID, runID: runID}
}

// analyze refreshes PostgreSQL's statistics of catalog_items when this run
// has grown the table past four times what they last saw. Without it, a
// first import of a large feed is planned on statistics of an empty table
// (autovacuum is slow to catch up, or off): each batch's lookup scans the
// whole import instead of using the key, and a million items take half an
// hour instead of minutes.
func (c *catalog) analyze(ctx context.Context) error {
	if c.store.db.Dialect != db.Postgres || c.written < max(2_000, 4*c.analyzed) {
		return nil
	}
	c.analyzed = c.written
	if _, err := c.store.db.ExecContext(ctx, `ANALYZE catalog_items`); err != nil {
		return fmt.Errorf("importer: refreshing catalogue statistics: %w", err)
	}
	return nil
}

// upsert writes a batch in one transaction: one read of the stored hashes,
// one multi-row insert-or-update for new and changed items, one update that
// marks unchanged items as seen by this run. An item seen twice in one run
// is a bad row (a feed with duplicate ids), the first one stays.
func (c *catalog) upsert(ctx context.Context, batch []entry) (batchCounts, error) {
	var counts batchCounts
	seen := make(map[string]int64, len(batch))
	uniq := batch[:0:0]
	for _, e := range batch {
		if first, dup := seen[e.externalID]; dup {
			counts.duplicates = append(counts.duplicates, &RowError{Pos: e.pos, Unit: e.unit, Field: "external id",
				Reason: fmt.Sprintf("duplicate external id %q (first at %s %d)", e.externalID, e.unit, first)})
			continue
		}
		seen[e.externalID] = e.pos
		uniq = append(uniq, e)
	}

	if len(uniq) == 0 {
		return counts, nil
	}
	err := c.store.db.InTx(ctx, func(tx *sql.Tx) error {
		if c.store.db.Dialect == db.Postgres {
			// These statements are prepared once per connection; after five
			// runs PostgreSQL may switch to a generic plan made while the
			// table was empty — a sequential scan, which at a million items
			// turns each batch from milliseconds into seconds. Custom plans
			// keep the primary-key index.
			if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
				return fmt.Errorf("importer: setting plan cache mode: %w", err)
			}
		}
		type stored struct {
			hash     []byte
			status   string
			lastSeen string
		}
		existing := make(map[string]stored, len(uniq))
		args := make([]any, 0, len(uniq)+1)
		args = append(args, c.importID)
		for _, e := range uniq {
			args = append(args, e.externalID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT external_id, hash, status, last_seen_run FROM catalog_items
			WHERE import_id = $1 AND external_id IN (`+db.Placeholders(2, len(uniq))+`)`, args...)
		if err != nil {
			return fmt.Errorf("importer: reading catalogue: %w", err)
		}
		for rows.Next() {
			var id string
			var st stored
			if err := rows.Scan(&id, &st.hash, &st.status, &st.lastSeen); err != nil {
				rows.Close()
				return fmt.Errorf("importer: reading catalogue: %w", err)
			}
			existing[id] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("importer: reading catalogue: %w", err)
		}

		now := c.store.now()
		var write, touch []entry
		for _, e := range uniq {
			st, ok := existing[e.externalID]
			switch {
			case !ok:
				counts.Created++
				write = append(write, e)
			case st.lastSeen == c.runID:
				counts.duplicates = append(counts.duplicates, &RowError{Pos: e.pos, Unit: e.unit, Field: "external id",
					Reason: fmt.Sprintf("duplicate external id %q (seen earlier in this feed)", e.externalID)})
			case !bytes.Equal(st.hash, e.hash) || st.status != ItemActive:
				counts.Updated++
				write = append(write, e)
			default:
				counts.Unchanged++
				touch = append(touch, e)
			}
		}
		if len(write) > 0 {
			const cols = 8
			args := make([]any, 0, len(write)*cols)
			var values strings.Builder
			for i, e := range write {
				if i > 0 {
					values.WriteByte(',')
				}
				values.WriteString("(" + db.Placeholders(i*cols+1, cols) + ")")
				args = append(args, c.importID, e.externalID, e.hash, string(e.fields), ItemActive, c.runID, now, now)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO catalog_items
				(import_id, external_id, hash, fields, status, last_seen_run, created_at, updated_at) VALUES `+values.String()+`
				ON CONFLICT (import_id, external_id) DO UPDATE SET hash = excluded.hash, fields = excluded.fields,
				status = excluded.status, last_seen_run = excluded.last_seen_run, updated_at = excluded.updated_at`, args...)
			if err != nil {
				return fmt.Errorf("importer: writing catalogue: %w", err)
			}
		}
		if len(touch) > 0 {
			args := make([]any, 0, len(touch)+2)
			args = append(args, c.runID, c.importID)
			for _, e := range touch {
				args = append(args, e.externalID)
			}
			_, err := tx.ExecContext(ctx, `UPDATE catalog_items SET last_seen_run = $1
				WHERE import_id = $2 AND external_id IN (`+db.Placeholders(3, len(touch))+`)`, args...)
			if err != nil {
				return fmt.Errorf("importer: marking unchanged items: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return counts, err
	}
	c.written += int64(len(uniq))
	return counts, c.analyze(ctx)
}

// markRemoved marks the items a complete run did not see as removed.
func (c *catalog) markRemoved(ctx context.Context) (int64, error) {
	res, err := c.store.db.ExecContext(ctx, `UPDATE catalog_items SET status = $1, updated_at = $2
		WHERE import_id = $3 AND status = $4 AND last_seen_run <> $5`, ItemRemoved, c.store.now(), c.importID, ItemActive, c.runID)
	if err != nil {
		return 0, fmt.Errorf("importer: marking removed items: %w", err)
	}
	return res.RowsAffected()
}

// Items pages through an import's catalogue by external id; status ""
// means every item.
func (s *Store) Items(ctx context.Context, importID, status, after string, limit int) ([]CatalogItem, bool, error) {
	if _, err := s.Get(ctx, importID); err != nil {
		return nil, false, err
	}
	out, more, err := db.Page(ctx, s.db, scanItem, limit, `SELECT external_id, status, fields, created_at, updated_at FROM catalog_items
		WHERE import_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR external_id > $3) ORDER BY external_id LIMIT $4`,
		importID, status, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("importer: listing items: %w", err)
	}
	return out, more, nil
}

// scanItem reads a row of external_id, status, fields, created_at,
// updated_at.
func scanItem(row db.Row) (CatalogItem, error) {
	var it CatalogItem
	var fields string
	if err := row.Scan(&it.ExternalID, &it.Status, &fields, &it.CreatedAt, &it.UpdatedAt); err != nil {
		return CatalogItem{}, err
	}
	it.Fields = json.RawMessage(fields)
	it.CreatedAt, it.UpdatedAt = it.CreatedAt.UTC(), it.UpdatedAt.UTC()
	return it, nil
}
