package secret

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/liaison/liaison/internal/db"
)

// Headers given to a connection (its fixed headers), an action hook or an
// API call are one kind of secret, whoever holds them: one rule for all
// three, here.
//
// At rest the whole set is sealed as one value (SealHeaders), bound to its
// row and column ("connection:<id>:headers", "hook:<id>:headers",
// "call:<id>:headers"), so a dump shows neither the values nor the names.
// In answers every value is masked (MaskHeaders) except those of the
// headers named in PlainHeaders, and an edit that sends a masked value back
// keeps the stored one (KeepMaskedHeaders). Attempts record the values of
// PlainHeaders only (hooks).

// PlainHeaders are the headers whose values are no secret: they say what a
// request is and what answer it wants, never who sends it. Every other
// header is taken to carry a credential. The list is short on purpose, and
// the README ("Secrets at rest") names it.
var PlainHeaders = []string{"Accept", "Accept-Language", "Content-Language", "Content-Type", "Version"}

// PlainHeader reports whether name (in any case) is one of PlainHeaders.
func PlainHeader(name string) bool {
	return slices.Contains(PlainHeaders, http.CanonicalHeaderKey(name))
}

// MaskHeaders is h as answers show it: every value masked (Mask) but those
// of PlainHeaders. It never returns nil.
func MaskHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if !PlainHeader(k) {
			v = Mask(v)
		}
		out[k] = v
	}
	return out
}

// KeepMaskedHeaders is the header set an edit leaves: next, except that a
// secret header whose value is the mask of the stored one (what an answer
// showed, sent back unchanged) keeps the stored value. Names match in any
// case, as HTTP's do.
func KeepMaskedHeaders(stored, next map[string]string) map[string]string {
	out := make(map[string]string, len(next))
	for k, v := range next {
		if !PlainHeader(k) {
			for sk, sv := range stored {
				if strings.EqualFold(sk, k) && v == Mask(sv) && v != sv {
					v = sv
					break
				}
			}
		}
		out[k] = v
	}
	return out
}

// SealHeaders is what a headers column stores for h: "{}" for no headers;
// otherwise a JSON string holding the set, as a JSON object, sealed with
// aad. The column stays JSON on both dialects (jsonb on PostgreSQL), and
// the sealed form (a string) cannot be mistaken for the plaintext one (an
// object) that rows written before headers were sealed hold.
func (r *Ring) SealHeaders(h map[string]string, aad string) (string, error) {
	if len(h) == 0 {
		return "{}", nil
	}
	plain, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("secret: encoding headers: %w", err)
	}
	sealed, err := r.Seal(plain, []byte(aad))
	if err != nil {
		return "", err
	}
	out, _ := json.Marshal(sealed) // a string always encodes
	return string(out), nil
}

// OpenHeaders reads a headers column in either form: sealed (a JSON string)
// or plaintext (a JSON object, from before headers were sealed, until
// SealPlainHeaders seals it). It never returns nil.
func (r *Ring) OpenHeaders(stored, aad string) (map[string]string, error) {
	raw := []byte(strings.TrimSpace(stored))
	if len(raw) > 0 && raw[0] == '"' {
		var sealed string
		if err := json.Unmarshal(raw, &sealed); err != nil {
			return nil, fmt.Errorf("secret: reading sealed headers: %w", err)
		}
		plain, err := r.Open(sealed, []byte(aad))
		if err != nil {
			return nil, err
		}
		raw = plain
	}
	h := map[string]string{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, fmt.Errorf("secret: reading headers: %w", err)
		}
	}
	if h == nil {
		h = map[string]string{}
	}
	return h, nil
}

// Queryer is what SealPlainHeaders needs of a database (*sql.DB, *db.DB).
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// HeaderTables are the tables whose headers column SealHeaders writes.
var HeaderTables = []string{"connections", "hooks", "calls"}

// sealBatch is how many rows SealPlainHeaders reads at a time.
const sealBatch = 500

// SealPlainHeaders seals the header sets that rows of table (one of
// HeaderTables) written before headers were sealed still hold in
// plaintext; aad gives a row's additional data from its id. A SQL
// migration cannot use the key ring, so migration 0009 lists the three
// tables in unsealed_headers and leaves the sealing to the first process
// that starts with the keys: this pass runs while its table is listed and
// takes it off the list once every row is sealed, so that later starts
// cost one small query. Several processes may run it at once: a row is
// written only while it still holds what was read. It returns how many
// rows it sealed.
func (r *Ring) SealPlainHeaders(ctx context.Context, q Queryer, table string, aad func(id string) string) (int, error) {
	if !slices.Contains(HeaderTables, table) {
		return 0, fmt.Errorf("secret: %q holds no headers column", table)
	}
	pending, err := db.QueryStrings(ctx, q, `SELECT table_name FROM unsealed_headers WHERE table_name = $1`, table)
	if err != nil {
		return 0, fmt.Errorf("secret: reading unsealed_headers: %w", err)
	}
	if len(pending) == 0 {
		return 0, nil
	}
	sealed, after := 0, ""
	for {
		rows, err := q.QueryContext(ctx, `SELECT id, CAST(headers AS TEXT) FROM `+table+`
			WHERE id > $1 AND CAST(headers AS TEXT) LIKE '{%' AND CAST(headers AS TEXT) <> '{}' ORDER BY id LIMIT $2`, after, sealBatch)
		if err != nil {
			return sealed, fmt.Errorf("secret: finding plaintext headers in %s: %w", table, err)
		}
		type row struct{ id, stored string }
		var batch []row
		for rows.Next() {
			var x row
			if err := rows.Scan(&x.id, &x.stored); err != nil {
				rows.Close()
				return sealed, fmt.Errorf("secret: finding plaintext headers in %s: %w", table, err)
			}
			batch = append(batch, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sealed, fmt.Errorf("secret: finding plaintext headers in %s: %w", table, err)
		}
		for _, x := range batch {
			h, err := r.OpenHeaders(x.stored, aad(x.id))
			if err != nil {
				return sealed, fmt.Errorf("secret: reading the headers of %s %s: %w", table, x.id, err)
			}
			v, err := r.SealHeaders(h, aad(x.id))
			if err != nil {
				return sealed, fmt.Errorf("secret: sealing the headers of %s %s: %w", table, x.id, err)
			}
			res, err := q.ExecContext(ctx, `UPDATE `+table+` SET headers = $1 WHERE id = $2 AND CAST(headers AS TEXT) = $3`, v, x.id, x.stored)
			if err != nil {
				return sealed, fmt.Errorf("secret: sealing the headers of %s %s: %w", table, x.id, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				sealed++
			}
		}
		if len(batch) < sealBatch {
			break
		}
		after = batch[len(batch)-1].id
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM unsealed_headers WHERE table_name = $1`, table); err != nil {
		return sealed, fmt.Errorf("secret: recording %s sealed: %w", table, err)
	}
	return sealed, nil
}
