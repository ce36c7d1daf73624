package importer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
)

// Limits and defaults of an import.
const (
	MaxNameLength           = 200
	DefaultTimeLimit        = time.Hour
	MaxTimeLimit            = 24 * time.Hour
	DefaultBadRowThreshold  = 0.1
	minScheduleInterval     = time.Minute
	maxErrorSamples         = 20
	defaultItemsPageSize    = 100
	scheduledTaskUniqueness = 50 * time.Second
)

var (
	// ErrNotFound means no such import, run or item.
	ErrNotFound = errors.New("importer: not found")
	// ErrRunInProgress means the import already has a queued or running run.
	ErrRunInProgress = errors.New("importer: a run of this import is already queued or running")
	// ErrRunFinished means the run has ended and cannot be cancelled.
	ErrRunFinished = errors.New("importer: the run has already ended")
)

// Import is a feed pulled on a schedule into the catalogue.
type Import struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	ConnectionID string    `json:"connection_id,omitempty"`
	URL          string    `json:"url"`
	Format       Format    `json:"format"`
	ItemPath     string    `json:"item_path,omitempty"`
	Mapping      Mapping   `json:"mapping"`
	Schedule     string    `json:"schedule,omitempty"`
	Timezone     string    `json:"timezone,omitempty"`
	Enabled      bool      `json:"enabled"`
	TimeLimit    string    `json:"time_limit"`
	BadRowShare  float64   `json:"bad_row_threshold"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`

	timeLimit    time.Duration
	etag         string
	lastModified string
}

// Input is what a person sets on an import; nil fields are left as they are
// on an edit.
type Input struct {
	Name         *string  `json:"name"`
	ConnectionID *string  `json:"connection_id"`
	URL          *string  `json:"url"`
	Format       *string  `json:"format"`
	ItemPath     *string  `json:"item_path"`
	Mapping      *Mapping `json:"mapping"`
	Schedule     *string  `json:"schedule"`
	Timezone     *string  `json:"timezone"`
	Enabled      *bool    `json:"enabled"`
	TimeLimit    *string  `json:"time_limit"`
	BadRowShare  *float64 `json:"bad_row_threshold"`
}

// setGiven sets *dst to *src when the edit gives src; a field left out
// keeps its value.
func setGiven[T any](dst, src *T) {
	if src != nil {
		*dst = *src
	}
}

// setTrimmed is setGiven for text, without the white space around it.
func setTrimmed(dst, src *string) {
	if src != nil {
		*dst = strings.TrimSpace(*src)
	}
}

// apply sets in onto im and checks the result as a whole, naming every bad
// field. ConnectionExists says whether a connection id is known.
func (in Input) apply(im *Import, connectionExists func(string) bool) error {
	setTrimmed(&im.Name, in.Name)
	setTrimmed(&im.ConnectionID, in.ConnectionID)
	setTrimmed(&im.URL, in.URL)
	if in.Format != nil {
		im.Format = Format(strings.ToLower(strings.TrimSpace(*in.Format)))
	}
	setTrimmed(&im.ItemPath, in.ItemPath)
	setGiven(&im.Mapping, in.Mapping)
	setTrimmed(&im.Schedule, in.Schedule)
	setTrimmed(&im.Timezone, in.Timezone)
	setGiven(&im.Enabled, in.Enabled)
	setTrimmed(&im.TimeLimit, in.TimeLimit)
	setGiven(&im.BadRowShare, in.BadRowShare)

	errs := &invalid.Error{}
	switch n := utf8.RuneCountInString(im.Name); {
	case n == 0:
		errs.Add("name", "is required")
	case n > MaxNameLength:
		errs.Add("name", "is %d characters long; at most %d are allowed", n, MaxNameLength)
	}
	if im.ConnectionID != "" && connectionExists != nil && !connectionExists(im.ConnectionID) {
		errs.Add("connection_id", "no connection %q exists", im.ConnectionID)
	}
	checkURL(errs, im)
	if f, err := ParseFormat(string(im.Format)); err != nil {
		errs.Add("format", "%s", err.Error())
	} else {
		im.Format = f
	}
	if im.Format == FormatXML && im.ItemPath == "" {
		errs.Add("item_path", `is required for the generic xml format: the slash-separated path of the item elements, e.g. "catalog/products/product"`)
	}
	if err := im.Mapping.Validate(); err != nil {
		errs.Add("mapping", "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if im.Timezone != "" {
		if _, err := time.LoadLocation(im.Timezone); err != nil {
			errs.Add("timezone", "%q is not a time zone; expected an IANA name such as Europe/Moscow", im.Timezone)
		}
	}
	if im.Schedule != "" {
		if err := checkSchedule(im.Schedule); err != nil {
			errs.Add("schedule", "%s", err.Error())
		}
	} else if im.Enabled {
		// Enabled without a schedule is allowed: such an import runs only when asked to.
	}
	if im.TimeLimit == "" {
		im.TimeLimit = DefaultTimeLimit.String()
	}
	if d, err := time.ParseDuration(im.TimeLimit); err != nil || d < time.Second || d > MaxTimeLimit {
		errs.Add("time_limit", "must be a duration from 1s to %s, e.g. \"30m\"", MaxTimeLimit)
	} else {
		im.timeLimit = d
	}
	if im.BadRowShare < 0 || im.BadRowShare > 1 {
		errs.Add("bad_row_threshold", "must be a share from 0 to 1 (0.1 fails a run when more than 10%% of its rows are bad)")
	}
	return errs.Err()
}

func checkURL(errs *invalid.Error, im *Import) {
	if im.URL == "" {
		errs.Add("url", "is required")
		return
	}
	u, err := url.Parse(im.URL)
	if err != nil {
		errs.Add("url", "is not a URL")
		return
	}
	if u.IsAbs() {
		if u.Scheme != "http" && u.Scheme != "https" {
			errs.Add("url", "must be http or https, not %s", u.Scheme)
		} else if u.Host == "" {
			errs.Add("url", "has no host")
		}
		return
	}
	if im.ConnectionID == "" {
		errs.Add("url", "must be an absolute http(s) URL when the import has no connection (a path is read against the connection's base URL)")
	}
}

// checkSchedule accepts a standard 5-field cron expression or a descriptor
// such as "@every 1h" or "@daily", as asynq's scheduler reads them.
func checkSchedule(spec string) error {
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		return errors.New(`put the time zone in the "timezone" field, not in the schedule`)
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("%q is not a schedule: %v; expected 5 cron fields (minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\") or \"@every 1h\"", spec, err)
	}
	now := time.Now()
	first := sched.Next(now)
	if first.IsZero() {
		return fmt.Errorf("%q never fires", spec)
	}
	if sched.Next(first).Sub(first) < minScheduleInterval {
		return fmt.Errorf("%q fires more often than once a minute", spec)
	}
	return nil
}

// Cronspec is the schedule as asynq's scheduler reads it, with the time zone.
func (im Import) Cronspec() string {
	if im.Timezone != "" && !strings.HasPrefix(im.Schedule, "@every") {
		return "CRON_TZ=" + im.Timezone + " " + im.Schedule
	}
	return im.Schedule
}

// StoreOptions configure a Store. DB is required.
type StoreOptions struct {
	// DB holds imports, runs and catalogue items.
	DB *db.DB
	// Events is told every end of a run, whoever brings it about (the
	// Runner, a person cancelling, a queue that would not take the run),
	// as import.completed or import.failed; nil records none.
	Events Events
	// ObserveRun, if set, is told the status of every run the store ends
	// (succeeded, unchanged, failed, cancelled), whoever brings the end
	// about. Metrics count with it; importer never imports them.
	ObserveRun func(status string)
}

// validate checks the required parts; a Store has nothing to default.
func (o StoreOptions) validate() error {
	return invalid.Required("importer", invalid.Need("DB", o.DB != nil))
}

// Store keeps imports, runs and catalogue items.
type Store struct {
	db         *db.DB
	events     Events
	observeRun func(status string)
	now        func() time.Time
}

// NewStore builds a store.
func NewStore(opts StoreOptions) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Store{db: opts.DB, events: opts.Events, observeRun: opts.ObserveRun, now: db.Now}, nil
}

// DB is the store's database.
func (s *Store) DB() *db.DB { return s.db }

const importColumns = `id, name, connection_id, url, format, item_path, mapping, schedule, timezone, enabled,
	time_limit_seconds, bad_row_threshold, etag, last_modified, created_at, updated_at`

func scanImport(row db.Row) (Import, error) {
	var (
		im      Import
		conn    sql.NullString
		mapping string
		secs    int64
	)
	err := row.Scan(&im.ID, &im.Name, &conn, &im.URL, &im.Format, &im.ItemPath, &mapping, &im.Schedule, &im.Timezone,
		&im.Enabled, &secs, &im.BadRowShare, &im.etag, &im.lastModified, &im.CreatedAt, &im.UpdatedAt)
	if err != nil {
		return Import{}, err
	}
	im.ConnectionID = conn.String
	if err := json.Unmarshal([]byte(mapping), &im.Mapping); err != nil {
		return Import{}, fmt.Errorf("importer: stored mapping of %s: %w", im.ID, err)
	}
	im.timeLimit = time.Duration(secs) * time.Second
	im.TimeLimit = im.timeLimit.String()
	im.CreatedAt, im.UpdatedAt = im.CreatedAt.UTC(), im.UpdatedAt.UTC()
	return im, nil
}

// Create makes an import.
func (s *Store) Create(ctx context.Context, in Input, connectionExists func(string) bool) (Import, error) {
	im := Import{Enabled: true, BadRowShare: DefaultBadRowThreshold, Format: FormatAuto}
	if err := in.apply(&im, connectionExists); err != nil {
		return Import{}, err
	}
	now := s.now()
	im.ID, im.CreatedAt, im.UpdatedAt = id.New("imp"), now, now
	if err := s.write(ctx, im, true); err != nil {
		return Import{}, err
	}
	return im, nil
}

// Update edits an import.
func (s *Store) Update(ctx context.Context, id string, in Input, connectionExists func(string) bool) (Import, error) {
	im, err := s.Get(ctx, id)
	if err != nil {
		return Import{}, err
	}
	before := im
	if err := in.apply(&im, connectionExists); err != nil {
		return Import{}, err
	}
	if im.URL != before.URL || im.ConnectionID != before.ConnectionID || im.Format != before.Format ||
		im.ItemPath != before.ItemPath || !reflect.DeepEqual(im.Mapping, before.Mapping) {
		// Validators of another feed mean nothing for this one; and a feed
		// read another way must be read again, even if it has not changed
		// (a 304 would leave the catalogue as the old mapping made it).
		im.etag, im.lastModified = "", ""
	}
	im.UpdatedAt = s.now()
	return im, s.write(ctx, im, false)
}

func (s *Store) write(ctx context.Context, im Import, create bool) error {
	mapping, err := json.Marshal(im.Mapping)
	if err != nil {
		return fmt.Errorf("importer: encoding mapping: %w", err)
	}
	var conn any
	if im.ConnectionID != "" {
		conn = im.ConnectionID
	}
	args := []any{im.ID, im.Name, conn, im.URL, string(im.Format), im.ItemPath, string(mapping), im.Schedule, im.Timezone,
		im.Enabled, int64(im.timeLimit / time.Second), im.BadRowShare, im.etag, im.lastModified, im.CreatedAt, im.UpdatedAt}
	q := `INSERT INTO imports (` + importColumns + `) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`
	if !create {
		q = `UPDATE imports SET name=$2, connection_id=$3, url=$4, format=$5, item_path=$6, mapping=$7, schedule=$8,
			timezone=$9, enabled=$10, time_limit_seconds=$11, bad_row_threshold=$12, etag=$13, last_modified=$14,
			created_at=$15, updated_at=$16 WHERE id=$1`
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("importer: saving import: %w", err)
	}
	return nil
}

// Get returns one import.
func (s *Store) Get(ctx context.Context, id string) (Import, error) {
	im, err := scanImport(s.db.QueryRowContext(ctx, `SELECT `+importColumns+` FROM imports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Import{}, fmt.Errorf("%w: import %s", ErrNotFound, id)
	}
	if err != nil {
		return Import{}, fmt.Errorf("importer: reading import: %w", err)
	}
	return im, nil
}

// List pages through imports by id.
func (s *Store) List(ctx context.Context, after string, limit int) ([]Import, bool, error) {
	out, more, err := db.Page(ctx, s.db, scanImport, limit,
		`SELECT `+importColumns+` FROM imports WHERE $1 = '' OR id > $1 ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("importer: listing imports: %w", err)
	}
	return out, more, nil
}

// Scheduled returns the enabled imports that have a schedule.
func (s *Store) Scheduled(ctx context.Context) ([]Import, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+importColumns+` FROM imports WHERE enabled AND schedule <> '' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("importer: listing scheduled imports: %w", err)
	}
	defer rows.Close()
	var out []Import
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, im)
	}
	return out, rows.Err()
}

// Delete removes an import with its runs and items.
func (s *Store) Delete(ctx context.Context, id string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		// SQLite enforces the cascade only with foreign_keys on; say it
		// explicitly so both dialects behave the same.
		for _, q := range []string{`DELETE FROM catalog_items WHERE import_id = $1`, `DELETE FROM import_runs WHERE import_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("importer: deleting import: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM imports WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("importer: deleting import: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: import %s", ErrNotFound, id)
		}
		return nil
	})
	return err
}
