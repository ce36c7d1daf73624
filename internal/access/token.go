package access

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
)

// Scopes, one per area and kind of access. A route needs exactly one.
const (
	ScopeConnectionsRead  = "connections.read"
	ScopeConnectionsWrite = "connections.write"
	ScopeHooksRead        = "hooks.read"
	ScopeHooksWrite       = "hooks.write"
	ScopeEventsWrite      = "events.write"
	ScopeCallsWrite       = "calls.write"
	ScopeImportsRead      = "imports.read"
	ScopeImportsWrite     = "imports.write"
	ScopeTokensManage     = "tokens.manage"
)

// AllScopes lists every scope, in the order docs/DESIGN.md gives them
// ("Access tokens and scopes").
var AllScopes = []string{
	ScopeConnectionsRead, ScopeConnectionsWrite, ScopeHooksRead, ScopeHooksWrite,
	ScopeEventsWrite, ScopeCallsWrite, ScopeImportsRead, ScopeImportsWrite, ScopeTokensManage,
}

// Limits on what a person types.
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 500
	// DefaultRotationOverlap is how long both secrets work after "rotate
	// and expire later".
	DefaultRotationOverlap = 7 * 24 * time.Hour
	// lastUsedEvery bounds last_used_at writes per token.
	lastUsedEvery = time.Minute
)

var (
	// ErrNotFound means no such token.
	ErrNotFound = errors.New("access: token not found")
	// ErrInvalidSecret means the secret is malformed, unknown, revoked,
	// expired or rotated out; which one is nobody's business.
	ErrInvalidSecret = errors.New("access: invalid access token")
	// ErrNoRotation means there is no rotation in progress to cancel or expire.
	ErrNoRotation = errors.New("access: no rotation in progress")
	// ErrRotationInProgress means a rotation must end before another begins.
	ErrRotationInProgress = errors.New("access: a rotation is already in progress; cancel it or expire the previous secret first")
)

// Token is an access token as shown: never its secret.
type Token struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Scopes      []string   `json:"scopes"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	// CreatedBy is what made the token, as Create was given it
	// ("token:<id>", "cli:<user>", "user:<email>"); Creator says it in
	// words: an email, "API token <name>" or "command line".
	CreatedBy string    `json:"created_by"`
	Creator   string    `json:"creator"`
	Hint      string    `json:"hint"`
	Rotation  *Rotation `json:"rotation,omitempty"`
}

// Rotation is an overlap in progress: the previous secret works until
// ExpiresAt. PreviousLastUsedAt is when the previous secret was last used
// (to the minute), so that a person sees whether every caller has moved
// to the new one; Token.LastUsedAt is the new (primary) secret's.
type Rotation struct {
	PreviousHint       string     `json:"previous_hint"`
	ExpiresAt          time.Time  `json:"expires_at"`
	PreviousLastUsedAt *time.Time `json:"previous_last_used_at"`
}

// Has reports whether the token carries scope.
func (t *Token) Has(scope string) bool { return slices.Contains(t.Scopes, scope) }

// Input is what a person sets on a token.
type Input struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Scopes      *[]string `json:"scopes"`
}

// Check validates the fields in sets, as Update would: the web UI checks
// the first step of its two-step create (name and description) with it
// before the second asks for the scopes.
func (in Input) Check() error { return in.validate(false) }

// validate checks in; on create every field is required but description.
func (in Input) validate(create bool) error {
	errs := &invalid.Error{}
	if in.Name == nil {
		if create {
			errs.Add("name", "is required")
		}
	} else if n := strings.TrimSpace(*in.Name); n == "" {
		errs.Add("name", "must not be empty")
	} else if utf8.RuneCountInString(n) > MaxNameLength {
		errs.Add("name", "is %d characters long; at most %d are allowed", utf8.RuneCountInString(n), MaxNameLength)
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > MaxDescriptionLength {
		errs.Add("description", "is %d characters long; at most %d are allowed", utf8.RuneCountInString(*in.Description), MaxDescriptionLength)
	}
	if in.Scopes == nil {
		if create {
			errs.Add("scopes", "is required: choose from %s", strings.Join(AllScopes, ", "))
		}
	} else {
		if len(*in.Scopes) == 0 {
			errs.Add("scopes", "must name at least one scope: choose from %s", strings.Join(AllScopes, ", "))
		}
		for i, s := range *in.Scopes {
			if !slices.Contains(AllScopes, s) {
				errs.Add(fmt.Sprintf("scopes[%d]", i), "%q is not a scope; choose from %s", s, strings.Join(AllScopes, ", "))
			}
		}
	}
	return errs.Err()
}

// Store keeps access tokens.
type Store struct {
	db      *db.DB
	overlap time.Duration
	now     func() time.Time

	mu       sync.Mutex
	lastUsed map[string]time.Time // token id → when this process last wrote last_used_at
}

// Options configure a Store. DB is required.
type Options struct {
	DB *db.DB
	// RotationOverlap is how long the previous secret keeps working after
	// a rotation (TOKEN_ROTATION_OVERLAP). Default DefaultRotationOverlap,
	// 7 days.
	RotationOverlap time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// withDefaults fills what is unset; validate has refused what is negative.
func (o Options) withDefaults() Options {
	o.RotationOverlap = cmp.Or(o.RotationOverlap, DefaultRotationOverlap)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// validate checks the required DB and that the overlap is not negative
// (zero means the default).
func (o Options) validate() error {
	if err := invalid.Required("access", invalid.Need("DB", o.DB != nil)); err != nil {
		return err
	}
	return invalid.NotNegative("access", []invalid.Setting[time.Duration]{invalid.Named("RotationOverlap", o.RotationOverlap)})
}

// New builds a store.
func New(opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	s := &Store{db: o.DB, overlap: o.RotationOverlap, lastUsed: map[string]time.Time{}}
	s.SetClock(o.Now)
	return s, nil
}

// RotationOverlap is how long both secrets work after "rotate and expire
// later", for a page that says so before it is chosen.
func (s *Store) RotationOverlap() time.Duration { return s.overlap }

// SetClock replaces the store's clock (tests move time forward with it).
func (s *Store) SetClock(now func() time.Time) {
	s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}

// Issued is a token with its secret, in the one answer that shows it.
type Issued struct {
	Token
	Secret string `json:"secret"`
}

// Create makes a token and returns it with its secret.
func (s *Store) Create(ctx context.Context, in Input, createdBy string) (Issued, error) {
	if err := in.validate(true); err != nil {
		return Issued{}, err
	}
	sec, err := newSecret()
	if err != nil {
		return Issued{}, err
	}
	now := s.now()
	t := Token{
		ID: id.New("tok"), Name: strings.TrimSpace(*in.Name), Scopes: normalizeScopes(*in.Scopes),
		CreatedAt: now, UpdatedAt: now, CreatedBy: createdBy, Hint: hint(sec),
	}
	if in.Description != nil {
		t.Description = *in.Description
	}
	h := hash(sec)
	_, err = s.db.ExecContext(ctx, `INSERT INTO access_tokens
		(id, name, description, scopes, created_by, created_at, updated_at, secret_hash, secret_hint)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.Name, t.Description, strings.Join(t.Scopes, " "), t.CreatedBy, now, now, h[:], t.Hint)
	if err != nil {
		return Issued{}, fmt.Errorf("access: creating token: %w", err)
	}
	if t, err = s.Get(ctx, t.ID); err != nil { // with Creator in words
		return Issued{}, err
	}
	return Issued{Token: t, Secret: sec}, nil
}

const columns = `id, name, description, scopes, created_by, created_at, updated_at, last_used_at,
	secret_hint, previous_hint, previous_expires_at, previous_last_used_at`

// scan reads a token's columns, and then into extra any columns that
// follow them.
func (s *Store) scan(row db.Row, extra ...any) (Token, error) {
	var (
		t            Token
		scopes       string
		lastUsed     sql.NullTime
		previousHint sql.NullString
		previousExp  sql.NullTime
		previousUsed sql.NullTime
	)
	err := row.Scan(append([]any{&t.ID, &t.Name, &t.Description, &scopes, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt,
		&lastUsed, &t.Hint, &previousHint, &previousExp, &previousUsed}, extra...)...)
	if err != nil {
		return Token{}, err
	}
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if lastUsed.Valid {
		lu := lastUsed.Time.UTC()
		t.LastUsedAt = &lu
	}
	if previousHint.Valid && previousExp.Valid && previousExp.Time.After(s.now()) {
		t.Rotation = &Rotation{PreviousHint: previousHint.String, ExpiresAt: previousExp.Time.UTC()}
		if previousUsed.Valid {
			t.Rotation.PreviousLastUsedAt = new(previousUsed.Time.UTC())
		}
	}
	t.Creator = creatorWords(t.CreatedBy, sql.NullString{})
	return t, nil
}

// scanShown is scan of a row that also has the makerName column, for
// answers that show who made the token.
func (s *Store) scanShown(row db.Row) (Token, error) {
	var maker sql.NullString
	t, err := s.scan(row, &maker)
	if err != nil {
		return Token{}, err
	}
	t.Creator = creatorWords(t.CreatedBy, maker)
	return t, nil
}

// Get returns one token.
func (s *Store) Get(ctx context.Context, id string) (Token, error) {
	t, err := s.scanShown(s.db.QueryRowContext(ctx, `SELECT `+columns+`, `+makerName+` FROM access_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("access: reading token: %w", err)
	}
	return t, nil
}

// List returns up to limit tokens created after the token with id after
// ("" for the first page), oldest first, and whether more follow.
func (s *Store) List(ctx context.Context, after string, limit int) ([]Token, bool, error) {
	out, more, err := db.Page(ctx, s.db, s.scanShown, limit, `SELECT `+columns+`, `+makerName+` FROM access_tokens
		WHERE $1 = '' OR id > $1 ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("access: listing tokens: %w", err)
	}
	return out, more, nil
}

// Count returns how many tokens exist.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM access_tokens`).Scan(&n); err != nil {
		return 0, fmt.Errorf("access: counting tokens: %w", err)
	}
	return n, nil
}

// Update changes name, description or scopes; the secret stays.
func (s *Store) Update(ctx context.Context, id string, in Input) (Token, error) {
	if err := in.validate(false); err != nil {
		return Token{}, err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM access_tokens WHERE id = $1`+s.db.ForUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("access: reading token: %w", err)
		}
		if in.Name != nil {
			cur.Name = strings.TrimSpace(*in.Name)
		}
		if in.Description != nil {
			cur.Description = *in.Description
		}
		if in.Scopes != nil {
			cur.Scopes = normalizeScopes(*in.Scopes)
		}
		_, err = tx.ExecContext(ctx, `UPDATE access_tokens SET name = $1, description = $2, scopes = $3, updated_at = $4 WHERE id = $5`,
			cur.Name, cur.Description, strings.Join(cur.Scopes, " "), s.now(), id)
		if err != nil {
			return fmt.Errorf("access: updating token: %w", err)
		}
		return nil
	})
	if err != nil {
		return Token{}, err
	}
	return s.Get(ctx, id)
}

// Delete removes a token; its secrets stop working at once.
func (s *Store) Delete(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM access_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("access: deleting token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	s.forget(id)
	return nil
}

// forget drops what this process wrote of the token's last uses: after a
// rotation, a deletion or the end of an overlap, the secrets they were
// about have changed places or gone.
func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.lastUsed, id)
	delete(s.lastUsed, id+" previous")
	s.mu.Unlock()
}

// Rotate issues a new secret. With expireNow the current secret stops at
// once (a leak); otherwise it keeps working for the overlap.
func (s *Store) Rotate(ctx context.Context, id string, expireNow bool) (Issued, error) {
	sec, err := newSecret()
	if err != nil {
		return Issued{}, err
	}
	h := hash(sec)
	now := s.now()
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var (
			curHash     []byte
			curHint     string
			previousExp sql.NullTime
		)
		err := tx.QueryRowContext(ctx, `SELECT secret_hash, secret_hint, previous_expires_at FROM access_tokens WHERE id = $1`+s.db.ForUpdate(), id).
			Scan(&curHash, &curHint, &previousExp)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("access: reading token: %w", err)
		}
		if expireNow {
			_, err = tx.ExecContext(ctx, `UPDATE access_tokens SET secret_hash = $1, secret_hint = $2,
				previous_hash = NULL, previous_hint = NULL, previous_expires_at = NULL, previous_last_used_at = NULL,
				last_used_at = NULL, updated_at = $3 WHERE id = $4`,
				h[:], hint(sec), now, id)
		} else {
			if previousExp.Valid && previousExp.Time.After(now) {
				return ErrRotationInProgress
			}
			_, err = tx.ExecContext(ctx, `UPDATE access_tokens SET secret_hash = $1, secret_hint = $2,
				previous_hash = $3, previous_hint = $4, previous_expires_at = $5,
				previous_last_used_at = last_used_at, last_used_at = NULL, updated_at = $6 WHERE id = $7`,
				h[:], hint(sec), curHash, curHint, now.Add(s.overlap), now, id)
		}
		if err != nil {
			return fmt.Errorf("access: rotating token: %w", err)
		}
		return nil
	})
	if err != nil {
		return Issued{}, err
	}
	s.forget(id)
	t, err := s.Get(ctx, id)
	if err != nil {
		return Issued{}, err
	}
	return Issued{Token: t, Secret: sec}, nil
}

// CancelRotation ends an overlap by going back: the new secret stops and
// the previous one is primary again.
func (s *Store) CancelRotation(ctx context.Context, id string) (Token, error) {
	return s.endRotation(ctx, id, `UPDATE access_tokens SET secret_hash = previous_hash, secret_hint = previous_hint,
		last_used_at = previous_last_used_at,
		previous_hash = NULL, previous_hint = NULL, previous_expires_at = NULL, previous_last_used_at = NULL, updated_at = $1
		WHERE id = $2 AND previous_expires_at > $1`)
}

// ExpireRotation ends an overlap by going forward: the previous secret
// stops at once.
func (s *Store) ExpireRotation(ctx context.Context, id string) (Token, error) {
	return s.endRotation(ctx, id, `UPDATE access_tokens SET
		previous_hash = NULL, previous_hint = NULL, previous_expires_at = NULL, previous_last_used_at = NULL, updated_at = $1
		WHERE id = $2 AND previous_expires_at > $1`)
}

func (s *Store) endRotation(ctx context.Context, id, query string) (Token, error) {
	res, err := s.db.ExecContext(ctx, query, s.now(), id)
	if err != nil {
		return Token{}, fmt.Errorf("access: ending rotation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return Token{}, err
		}
		return Token{}, ErrNoRotation
	}
	s.forget(id)
	return s.Get(ctx, id)
}

// Authenticate returns the token a secret belongs to, or ErrInvalidSecret.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !WellFormed(secret) {
		return Token{}, ErrInvalidSecret
	}
	h := hash(secret)
	now := s.now()
	var current, previous []byte
	row := s.db.QueryRowContext(ctx, `SELECT `+columns+`, secret_hash, previous_hash FROM access_tokens
		WHERE secret_hash = $1 OR (previous_hash = $1 AND previous_expires_at > $2)`, h[:], now)
	t, err := s.scan(row, &current, &previous)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrInvalidSecret
	}
	if err != nil {
		return Token{}, fmt.Errorf("access: checking token: %w", err)
	}
	// The index found the row; compare in constant time all the same, so
	// that no code path's timing depends on how much of a hash matched.
	isCurrent := subtle.ConstantTimeCompare(current, h[:]) == 1
	if !isCurrent && subtle.ConstantTimeCompare(previous, h[:]) != 1 {
		return Token{}, ErrInvalidSecret
	}
	s.touch(ctx, t.ID, !isCurrent, now)
	return t, nil
}

// touch records a use of the token's primary secret, or of its previous
// one during a rotation, writing at most once a minute per secret: the
// in-process map spares the write, the WHERE clause keeps several processes
// from writing within the same minute too.
func (s *Store) touch(ctx context.Context, id string, previous bool, now time.Time) {
	key, column := id, "last_used_at"
	if previous {
		key, column = id+" previous", "previous_last_used_at"
	}
	s.mu.Lock()
	last, ok := s.lastUsed[key]
	if ok && now.Sub(last) < lastUsedEvery {
		s.mu.Unlock()
		return
	}
	s.lastUsed[key] = now
	if len(s.lastUsed) > 100_000 {
		clear(s.lastUsed) // bounded memory; the WHERE clause still limits writes
	}
	s.mu.Unlock()
	// A failed write only loses a last-used time; the request goes on.
	_, _ = s.db.ExecContext(ctx, `UPDATE access_tokens SET `+column+` = $1
		WHERE id = $2 AND (`+column+` IS NULL OR `+column+` <= $3)`, now, id, now.Add(-lastUsedEvery))
}

func normalizeScopes(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// Secrets.

const (
	secretPrefix = "lsn_"
	bodyLen      = 43 // base62 digits of 256 random bits
	checkLen     = 6  // base62 digits of a CRC-32
)

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("access: reading random secret: %w", err)
	}
	body := id.Base62(new(big.Int).SetBytes(b), bodyLen)
	return secretPrefix + body + checksum(body), nil
}

func checksum(body string) string {
	return id.Base62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(secretPrefix+body)))), checkLen)
}

// WellFormed reports whether s looks like a Liaison secret with a valid
// checksum; it says nothing of whether the secret exists.
func WellFormed(s string) bool {
	body, ok := strings.CutPrefix(s, secretPrefix)
	if !ok || len(body) != bodyLen+checkLen {
		return false
	}
	if !id.IsBase62(body) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(checksum(body[:bodyLen])), []byte(body[bodyLen:])) == 1
}

func hash(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// hint shows a secret as "lsn_6490****e762".
func hint(secret string) string {
	body := strings.TrimPrefix(secret, secretPrefix)
	return secretPrefix + body[:4] + "****" + body[len(body)-4:]
}
