package connections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
)

// columns is every column of connections, in the order scan reads them.
const columns = `id, name, description, auth_type, status, base_url, allowed_hosts, headers,
	client_id, client_secret, authorization_url, token_url, revocation_url, discovery_url, issuer,
	scopes, client_auth, pkce, authorization_params, static_token, api_key_in, api_key_name,
	api_key_value, test_path, last_error, access_token, refresh_token, token_obtained_at,
	token_expires_at, token_version, created_at, updated_at, rate_limit, max_concurrency,
	paused_at, last_used_at`

// aad binds a sealed value to its row and column: a sealed client secret
// copied into another row or column does not open.
func aad(id, field string) string { return "connection:" + id + ":" + field }

// sealed holds the sealed forms of a connection's secrets.
type sealed struct {
	headers                                                           string
	clientSecret, staticToken, apiKeyValue, accessToken, refreshToken string
}

func (s *Service) seal(c *Connection) (sealed, error) {
	var out sealed
	h, err := s.opts.Ring.SealHeaders(c.Headers, aad(c.ID, "headers"))
	if err != nil {
		return sealed{}, fmt.Errorf("sealing headers: %w", err)
	}
	out.headers = h
	for _, f := range []struct {
		dst   *string
		plain string
		field string
	}{
		{&out.clientSecret, c.ClientSecret, "client_secret"},
		{&out.staticToken, c.StaticToken, "static_token"},
		{&out.apiKeyValue, c.APIKeyValue, "api_key_value"},
		{&out.accessToken, c.AccessToken, "access_token"},
		{&out.refreshToken, c.RefreshToken, "refresh_token"},
	} {
		v, err := s.opts.Ring.SealString(f.plain, aad(c.ID, f.field))
		if err != nil {
			return sealed{}, fmt.Errorf("sealing %s: %w", f.field, err)
		}
		*f.dst = v
	}
	return out, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func (s *Service) scan(row rowScanner) (*Connection, error) {
	var (
		c                              Connection
		hosts, headers, scopes, params string
		secretCS, secretST, secretAK   string
		secretAT, secretRT             string
		obtained, expires              sql.NullTime
		paused, used                   sql.NullTime
	)
	err := row.Scan(&c.ID, &c.Name, &c.Description, &c.AuthType, &c.Status, &c.BaseURL, &hosts, &headers,
		&c.ClientID, &secretCS, &c.AuthorizationURL, &c.TokenURL, &c.RevocationURL, &c.DiscoveryURL, &c.Issuer,
		&scopes, &c.ClientAuth, &c.PKCE, &params, &secretST, &c.APIKeyIn, &c.APIKeyName,
		&secretAK, &c.TestPath, &c.LastError, &secretAT, &secretRT, &obtained,
		&expires, &c.TokenVersion, &c.CreatedAt, &c.UpdatedAt, &c.RateLimit, &c.MaxConcurrency,
		&paused, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading connection: %w", err)
	}
	for _, j := range []struct {
		raw string
		dst any
	}{{hosts, &c.AllowedHosts}, {scopes, &c.Scopes}, {params, &c.AuthorizationParams}} {
		if err := json.Unmarshal([]byte(j.raw), j.dst); err != nil {
			return nil, fmt.Errorf("reading connection %s: %w", c.ID, err)
		}
	}
	if c.Headers, err = s.opts.Ring.OpenHeaders(headers, aad(c.ID, "headers")); err != nil {
		return nil, fmt.Errorf("opening headers of connection %s: %w", c.ID, err)
	}
	for _, f := range []struct {
		dst    *string
		sealed string
		field  string
	}{
		{&c.ClientSecret, secretCS, "client_secret"},
		{&c.StaticToken, secretST, "static_token"},
		{&c.APIKeyValue, secretAK, "api_key_value"},
		{&c.AccessToken, secretAT, "access_token"},
		{&c.RefreshToken, secretRT, "refresh_token"},
	} {
		v, err := s.opts.Ring.OpenString(f.sealed, aad(c.ID, f.field))
		if err != nil {
			return nil, fmt.Errorf("opening %s of connection %s: %w", f.field, c.ID, err)
		}
		*f.dst = v
	}
	if obtained.Valid {
		c.TokenObtainedAt = obtained.Time.UTC()
	}
	if expires.Valid {
		c.TokenExpiresAt = expires.Time.UTC()
	}
	if paused.Valid {
		c.PausedAt = paused.Time.UTC()
	}
	if used.Valid {
		c.LastUsedAt = used.Time.UTC()
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings, slices and maps of strings come here
	}
	return string(b)
}

func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC().Truncate(time.Microsecond), Valid: true}
}

// load reads one connection with its secrets opened.
func (s *Service) load(ctx context.Context, id string) (*Connection, error) {
	return s.scan(s.opts.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM connections WHERE id = $1`, id))
}

// insert stores a new connection.
func (s *Service) insert(ctx context.Context, c *Connection) error {
	sc, err := s.seal(c)
	if err != nil {
		return err
	}
	_, err = s.opts.DB.ExecContext(ctx, `INSERT INTO connections (`+columns+`) VALUES
		($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		 $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)`,
		c.ID, c.Name, c.Description, c.AuthType, c.Status, c.BaseURL, jsonText(nonNil(c.AllowedHosts)), sc.headers,
		c.ClientID, sc.clientSecret, c.AuthorizationURL, c.TokenURL, c.RevocationURL, c.DiscoveryURL, c.Issuer,
		jsonText(nonNil(c.Scopes)), c.ClientAuth, c.PKCE, jsonText(mapOrEmpty(c.AuthorizationParams)), sc.staticToken, c.APIKeyIn, c.APIKeyName,
		sc.apiKeyValue, c.TestPath, c.LastError, sc.accessToken, sc.refreshToken, nullTime(c.TokenObtainedAt),
		nullTime(c.TokenExpiresAt), c.TokenVersion, c.CreatedAt, c.UpdatedAt, c.RateLimit, c.MaxConcurrency,
		nullTime(c.PausedAt), nullTime(c.LastUsedAt))
	if err != nil {
		return fmt.Errorf("storing connection: %w", err)
	}
	return nil
}

// update writes every field of c; the token columns only move forward:
// the write happens only if token_version is still wantVersion, so an edit
// never overwrites a refresh that landed meanwhile. It reports whether it
// wrote.
func (s *Service) update(ctx context.Context, c *Connection, wantVersion int64) (bool, error) {
	sc, err := s.seal(c)
	if err != nil {
		return false, err
	}
	ok, err := s.updateOne(ctx, `UPDATE connections SET
		name = $2, description = $3, auth_type = $4, status = $5, base_url = $6, allowed_hosts = $7, headers = $8,
		client_id = $9, client_secret = $10, authorization_url = $11, token_url = $12, revocation_url = $13,
		discovery_url = $14, issuer = $15, scopes = $16, client_auth = $17, pkce = $18, authorization_params = $19,
		static_token = $20, api_key_in = $21, api_key_name = $22, api_key_value = $23, test_path = $24,
		last_error = $25, access_token = $26, refresh_token = $27, token_obtained_at = $28,
		token_expires_at = $29, token_version = $30, updated_at = $31,
		rate_limit = $33, max_concurrency = $34
		WHERE id = $1 AND token_version = $32`,
		c.ID, c.Name, c.Description, c.AuthType, c.Status, c.BaseURL, jsonText(nonNil(c.AllowedHosts)), sc.headers,
		c.ClientID, sc.clientSecret, c.AuthorizationURL, c.TokenURL, c.RevocationURL,
		c.DiscoveryURL, c.Issuer, jsonText(nonNil(c.Scopes)), c.ClientAuth, c.PKCE, jsonText(mapOrEmpty(c.AuthorizationParams)),
		sc.staticToken, c.APIKeyIn, c.APIKeyName, sc.apiKeyValue, c.TestPath,
		c.LastError, sc.accessToken, sc.refreshToken, nullTime(c.TokenObtainedAt),
		nullTime(c.TokenExpiresAt), c.TokenVersion, c.UpdatedAt, wantVersion, c.RateLimit, c.MaxConcurrency)
	if err != nil {
		return false, fmt.Errorf("updating connection: %w", err)
	}
	return ok, nil
}

// updateOne runs an UPDATE of one connection, guarded by what the caller
// read (its token_version), and reports whether it changed the row.
func (s *Service) updateOne(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := s.opts.DB.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func mapOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// tokens is what a token endpoint gave.
type tokens struct {
	access, refresh string
	expiresAt       time.Time
}

// storeTokens writes new tokens, with a rotated refresh token in the same
// write (the old one is kept when none came back), only if the stored token
// is still version stale. It reports whether it wrote.
func (s *Service) storeTokens(ctx context.Context, id string, stale int64, t tokens, keepRefresh string) (bool, error) {
	refresh := t.refresh
	if refresh == "" {
		refresh = keepRefresh
	}
	at, err := s.opts.Ring.SealString(t.access, aad(id, "access_token"))
	if err != nil {
		return false, fmt.Errorf("sealing access token: %w", err)
	}
	rt, err := s.opts.Ring.SealString(refresh, aad(id, "refresh_token"))
	if err != nil {
		return false, fmt.Errorf("sealing refresh token: %w", err)
	}
	now := s.now()
	ok, err := s.updateOne(ctx, `UPDATE connections SET access_token = $1, refresh_token = $2,
		token_obtained_at = $3, token_expires_at = $4, token_version = token_version + 1,
		status = $5, last_error = '', updated_at = $3
		WHERE id = $6 AND token_version = $7`,
		at, rt, now, nullTime(t.expiresAt), StatusConnected, id, stale)
	if err != nil {
		return false, fmt.Errorf("storing tokens: %w", err)
	}
	return ok, nil
}

// markNeedsReauth moves a connection to needs_reauth, drops its tokens
// (the provider refused them) and records connection.needs_reauth, once:
// only the write that changes the state records the event.
//
// It applies only while the stored credentials are still the ones c was
// read with (token_version): a refusal of a token that has been replaced
// since (a reconnection, a new static token, another process's refresh)
// says nothing about the new one, and must not undo it. It reports whether
// the connection needs reauthorization now; false means the credentials
// were replaced, and the caller reads the connection again.
func (s *Service) markNeedsReauth(ctx context.Context, c *Connection, reason string) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	res, err := s.opts.DB.ExecContext(ctx, `UPDATE connections SET status = $1, last_error = $2,
		access_token = '', refresh_token = '', token_obtained_at = NULL, token_expires_at = NULL,
		token_version = token_version + 1, updated_at = $3
		WHERE id = $4 AND status <> $1 AND token_version = $5`,
		StatusNeedsReauth, reason, s.now(), c.ID, c.TokenVersion)
	if err != nil {
		return false, fmt.Errorf("marking connection %s for reconnection: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		s.opts.Log.WarnContext(ctx, "connection needs reauthorization", "connection_id", c.ID, "reason", reason)
		s.record(ctx, EventNeedsReauth, map[string]any{
			"connection_id": c.ID, "name": c.Name, "auth_type": c.AuthType, "reason": reason,
		})
		return true, nil
	}
	now, err := s.load(ctx, c.ID)
	if err != nil {
		return false, err
	}
	return now.Status == StatusNeedsReauth, nil
}

func (s *Service) setLastError(ctx context.Context, id, msg string) {
	if _, err := s.opts.DB.ExecContext(context.WithoutCancel(ctx),
		`UPDATE connections SET last_error = $1, updated_at = $2 WHERE id = $3`, msg, s.now(), id); err != nil {
		s.opts.Log.ErrorContext(ctx, "recording connection error", "connection_id", id, "error", err)
	}
}

// SealStoredHeaders seals the fixed headers of connections stored before
// headers were sealed (migration 0009); once done, it costs one small
// query. Every process runs it at start, after migrating.
func (s *Service) SealStoredHeaders(ctx context.Context) error {
	n, err := s.opts.Ring.SealPlainHeaders(ctx, s.opts.DB, "connections", func(id string) string { return aad(id, "headers") })
	if n > 0 {
		s.opts.Log.InfoContext(ctx, "sealed the fixed headers of connections stored in plaintext", "connections", n)
	}
	return err
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// StoreEvents is an EventRecorder that keeps events in the system_events
// table. It stands in until the delivery engine (issue 5) implements
// EventRecorder and delivers the events to webhooks; that engine can read
// what was stored here meanwhile.
type StoreEvents struct {
	DB  *db.DB
	Now func() time.Time
}

var _ EventRecorder = (*StoreEvents)(nil)

// Record stores one event.
func (e *StoreEvents) Record(ctx context.Context, eventType string, data map[string]any) error {
	now := db.Now()
	if e.Now != nil {
		now = e.Now().UTC().Truncate(time.Microsecond)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", eventType, err)
	}
	if _, err := e.DB.ExecContext(ctx, `INSERT INTO system_events (id, type, occurred_at, data) VALUES ($1, $2, $3, $4)`,
		id.New("evt"), eventType, now, string(raw)); err != nil {
		return fmt.Errorf("storing event %s: %w", eventType, err)
	}
	return nil
}
