package connections

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sethvargo/go-retry"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// A token is refreshed once per expiry, across every process:
//
//  1. In this process, callers that find the same stale token (same
//     connection, same token_version) share one flight (singleflight).
//  2. The flight takes a Redis lock per connection (SET NX PX with a random
//     value, released by a compare-and-delete script). A flight that cannot
//     take it waits for the holder to let go, then reads the database.
//  3. The holder reads the stored token again and goes to the token
//     endpoint only if it is still the stale version; the new tokens (with a
//     rotated refresh token) are stored in one UPDATE that also checks the
//     version.
//  4. A refresh that got no token back may still have been processed (and
//     the refresh token rotated): neither the holder (fetchWithRetry) nor
//     the flights that waited for its lock (markRefreshFailed) send it
//     again; the next use does, after reading the stored token again.
//
// The whole refresh, retries included, is bounded by refreshBudget, and the
// lock lives longer than that, so a lock never expires under a holder that
// is still waiting for the provider: a second refresh with the same refresh
// token, which makes rotating providers revoke the grant, cannot start.

// fresh reports whether c's access token can be used without a refresh.
func (s *Service) fresh(c *Connection) bool {
	if c.AccessToken == "" {
		return false
	}
	if c.TokenExpiresAt.IsZero() {
		return true
	}
	skew := s.opts.Skew
	if life := c.TokenExpiresAt.Sub(c.TokenObtainedAt); !c.TokenObtainedAt.IsZero() && life > 0 && life/2 < skew {
		// A token that lives 60 s or less would otherwise be stale the
		// moment it arrives and be refreshed on every use.
		skew = life / 2
	}
	return s.opts.Now().Add(skew).Before(c.TokenExpiresAt)
}

// accessToken returns a usable access token for an OAuth connection and
// the token_version it belongs to. force refreshes even a fresh token
// (after the target answered 401 to it), unless someone already replaced it.
func (s *Service) accessToken(ctx context.Context, c *Connection, force bool) (string, int64, error) {
	if c.Status == StatusNeedsReauth {
		return "", 0, &ReauthError{ConnectionID: c.ID, Reason: orDefault(c.LastError, "the provider refused the grant")}
	}
	if c.AuthType == AuthOAuth2Code && c.AccessToken == "" && c.RefreshToken == "" {
		return "", 0, &ReauthError{ConnectionID: c.ID, Reason: "not connected yet: authorize it first"}
	}
	if !force && s.fresh(c) {
		return c.AccessToken, c.TokenVersion, nil
	}
	nc, err := s.renew(ctx, c.ID, c.TokenVersion)
	if err != nil {
		return "", 0, err
	}
	return nc.AccessToken, nc.TokenVersion, nil
}

// renew replaces the token of version stale, once per process and once
// across processes, and returns the connection with the new token.
func (s *Service) renew(ctx context.Context, id string, stale int64) (*Connection, error) {
	key := id + ":" + strconv.FormatInt(stale, 10)
	ch := s.flight.DoChan(key, func() (any, error) {
		// The flight serves every caller that joined it, so one caller
		// giving up must not cancel it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lockTTL)
		defer cancel()
		return s.renewShared(fctx, id, stale)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Connection), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a token refresh of connection %s: %w", id, ctx.Err())
	}
}

// renewShared is one process's part: take the lock or wait for whoever has it.
func (s *Service) renewShared(ctx context.Context, id string, stale int64) (*Connection, error) {
	for {
		unlock, ok, err := s.lock(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			c, err := s.renewHolding(ctx, id, stale)
			unlock()
			return c, err
		}
		if err := s.waitUnlocked(ctx, id); err != nil {
			return nil, err
		}
		c, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if c.TokenVersion != stale && c.AccessToken != "" {
			return c, nil // the holder refreshed it
		}
		if c.Status == StatusNeedsReauth {
			return nil, &ReauthError{ConnectionID: id, Reason: orDefault(c.LastError, "the provider refused the grant")}
		}
		if c.AuthType == AuthOAuth2Code && s.refreshFailed(ctx, id, c.TokenVersion) {
			// The holder sent this very refresh token and got no token
			// back; the provider may have processed it, so sending it
			// again now could be a reuse. Our caller tries again later.
			return nil, fmt.Errorf("%w: connection %s: %s", ErrTokenEndpoint, id, orDefault(c.LastError, "another refresh of this token got no answer"))
		}
		// The holder did not refresh this version (it found another one,
		// or it gave up before sending): take the lock and try ourselves.
	}
}

// renewHolding runs with the lock held.
func (s *Service) renewHolding(ctx context.Context, id string, stale int64) (*Connection, error) {
	c, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.TokenVersion != stale && c.AccessToken != "" {
		return c, nil // replaced while we queued for the lock
	}
	if c.Status == StatusNeedsReauth {
		return nil, &ReauthError{ConnectionID: id, Reason: orDefault(c.LastError, "the provider refused the grant")}
	}
	if !c.isOAuth() {
		return nil, fmt.Errorf("%w: %s connections have no token to refresh", ErrWrongType, c.AuthType)
	}
	if c.AuthType == AuthOAuth2Code && c.RefreshToken == "" {
		reason := "the access token expired and the provider gave no refresh token; reconnect (some providers need access_type=offline or the offline_access scope)"
		if c.AccessToken == "" {
			reason = "not connected yet: authorize it first"
		}
		needs, err := s.markNeedsReauth(ctx, c, reason)
		if err != nil {
			return nil, err
		}
		if !needs {
			return s.renewHolding(ctx, id, stale) // replaced meanwhile (a reconnection): look again
		}
		return nil, &ReauthError{ConnectionID: id, Reason: reason}
	}

	fctx, cancel := context.WithTimeout(ctx, s.refreshBudget)
	t, err := s.fetchWithRetry(fctx, c)
	cancel()
	s.observeRefresh(err)
	s.recordRefresh(ctx, id, refreshReason(err))
	if err != nil {
		var perm *permanentTokenError
		if errors.As(err, &perm) {
			needs, err := s.markNeedsReauth(ctx, c, perm.reason)
			if err != nil {
				return nil, err
			}
			if !needs {
				// Reconnected while the refused refresh was out: the
				// refusal was about the old grant.
				return s.renewHolding(ctx, id, stale)
			}
			return nil, &ReauthError{ConnectionID: id, Reason: perm.reason}
		}
		s.setLastError(ctx, id, "token endpoint: "+err.Error())
		if c.AuthType == AuthOAuth2Code {
			s.markRefreshFailed(ctx, id, c.TokenVersion)
		}
		return nil, fmt.Errorf("%w: connection %s: %w", ErrTokenEndpoint, id, err)
	}
	wrote, err := s.storeTokens(ctx, id, c.TokenVersion, t, c.RefreshToken)
	if err != nil {
		return nil, err
	}
	if !wrote {
		// Only an edit of the connection can get here (refreshes hold the
		// lock): the token we got belongs to settings that changed.
		s.opts.Log.WarnContext(ctx, "token refreshed but the connection changed meanwhile; new token dropped", "connection_id", id)
	} else {
		// The write was guarded by the version c was read with, and every
		// change of state changes the version: c.Status is what it replaced.
		s.connected(ctx, c, c.Status)
	}
	return s.load(ctx, id)
}

// observeRefresh tells Options.ObserveRefresh how a refresh ended.
func (s *Service) observeRefresh(err error) {
	if s.opts.ObserveRefresh == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
		if _, ok := errors.AsType[*permanentTokenError](err); ok {
			result = "invalid_grant"
		}
	}
	s.opts.ObserveRefresh(result)
}

// refreshReason is what the refresh history says of a refresh that ended
// with err: "" when it worked, else the provider's words (or what failed).
func refreshReason(err error) string {
	if err == nil {
		return ""
	}
	if perm, ok := errors.AsType[*permanentTokenError](err); ok {
		return perm.reason
	}
	return "token endpoint: " + err.Error()
}

// permanentTokenError is a token-endpoint answer that retrying cannot fix
// (invalid_grant, invalid_client…): the connection needs a person.
type permanentTokenError struct{ reason string }

func (e *permanentTokenError) Error() string { return e.reason }

// fetchWithRetry asks the token endpoint for a new token, retrying
// failures that may pass with backoff.
//
// A client_credentials grant carries nothing that can be used up, so every
// transient failure (network errors, timeouts, 5xx, 429) is retried.
//
// A refresh_token grant is sent again only when the provider certainly did
// not act on it. A provider that rotates refresh tokens retires the one we
// sent as soon as it processes the request, and revokes the whole grant when
// it sees it again. If the request may have reached the provider and no
// tokens came back (a timeout, a connection broken after the request was
// written, an answer that is not a token, a 500/502/504, which a gateway or
// a provider may send after the work was done), the outcome is unknown and a
// resend could be that reuse. Only these are certainly harmless:
//   - the connection was never made (a dial or DNS error): nothing was sent;
//   - 408, 429 or 503: the provider says it did not take the request on
//     (timed out reading it, rate limited, unavailable).
//
// An unknown outcome is returned as *unknownOutcomeError: the connection
// stays as it is, and the next use reads the stored token again and, if it is
// still the stale one, sends the refresh again: if the provider had
// processed the lost request, that is the only refresh token left anyway,
// and a provider without rotation (or with a reuse grace period) answers it.
func (s *Service) fetchWithRetry(ctx context.Context, c *Connection) (tokens, error) {
	b := retry.WithJitterPercent(20, retry.WithMaxRetries(uint64(s.opts.TokenRetries), retry.NewExponential(s.opts.TokenBackoff)))
	return retry.DoValue(ctx, b, func(ctx context.Context) (tokens, error) {
		actx, cancel := context.WithTimeout(ctx, s.opts.TokenTimeout)
		defer cancel()
		t, err := s.fetch(actx, c)
		if err == nil {
			return t, nil
		}
		if reason, permanent := classifyTokenError(err); permanent {
			return tokens{}, &permanentTokenError{reason: reason}
		}
		if c.AuthType == AuthOAuth2Code && !notProcessed(err) {
			return tokens{}, &unknownOutcomeError{err: redactErr(err)}
		}
		s.opts.Log.WarnContext(ctx, "token endpoint failed; retrying", "connection_id", c.ID, "error", redactErr(err))
		return tokens{}, retry.RetryableError(redactErr(err))
	})
}

// unknownOutcomeError is a refresh that may or may not have been processed
// by the provider: it is not sent again at once (see fetchWithRetry).
type unknownOutcomeError struct{ err error }

func (e *unknownOutcomeError) Error() string {
	return "no answer to the refresh, which the provider may have processed; it is not sent again now, the next use tries again: " + e.err.Error()
}

func (e *unknownOutcomeError) Unwrap() error { return e.err }

// notProcessed reports whether a failed token request certainly did not
// reach the provider, or the provider said it did not act on it.
func notProcessed(err error) bool {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response == nil {
			return false
		}
		switch re.Response.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return true
		}
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// fetch makes one token request: a refresh for authorization-code
// connections, a client_credentials grant otherwise.
func (s *Service) fetch(ctx context.Context, c *Connection) (tokens, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.tokenClient())
	var (
		tok *oauth2.Token
		err error
	)
	switch c.AuthType {
	case AuthOAuth2Code:
		// TokenSource with only a refresh token refreshes at once; its
		// context is used for this one call and dropped.
		tok, err = s.oauthConfig(c).TokenSource(ctx, &oauth2.Token{RefreshToken: c.RefreshToken}).Token()
	case AuthOAuth2ClientCredentials:
		cc := clientcredentials.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL,
			Scopes: c.Scopes, AuthStyle: authStyle(c),
		}
		tok, err = cc.Token(ctx)
	default:
		return tokens{}, fmt.Errorf("%w: %s", ErrWrongType, c.AuthType)
	}
	if err != nil {
		return tokens{}, err
	}
	return tokensFrom(tok), nil
}

func tokensFrom(tok *oauth2.Token) tokens {
	return tokens{access: tok.AccessToken, refresh: tok.RefreshToken, expiresAt: tok.Expiry}
}

// classifyTokenError says whether a token-endpoint failure is for a person
// to fix (with the provider's words) or may pass.
func classifyTokenError(err error) (reason string, permanent bool) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
			return "", false
		}
		if re.ErrorCode != "" {
			reason = re.ErrorCode
			if re.ErrorDescription != "" {
				reason += ": " + re.ErrorDescription
			}
		} else {
			reason = fmt.Sprintf("the token endpoint answered %d %s", status, excerpt(re.Body))
		}
		return strings.TrimSpace(reason), true
	}
	if errors.Is(err, ErrBlocked) {
		return "the token endpoint's address is not allowed: " + err.Error(), true
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return "", false
	}
	// Anything else (an answer that is not a token, an unreadable body):
	// also for a person to look at, but it may be a glitch; retry it.
	return "", false
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// tokenClient is the HTTP client for token, revocation and discovery
// requests: through the guard, following no redirects (a token endpoint
// that redirects a POST is misconfigured, and the body holds secrets).
func (s *Service) tokenClient() *http.Client {
	return &http.Client{
		Transport:     s.base,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       s.opts.TokenTimeout,
	}
}

// lockKey is the Redis key of a connection's refresh lock.
func lockKey(id string) string { return "liaison:connections:refresh:" + id }

// failedKey is the Redis key that says which token version of a connection
// the last lock holder sent a refresh for without getting a token back.
func failedKey(id string) string { return "liaison:connections:refresh-failed:" + id }

// markRefreshFailed notes, before the lock is released, that a refresh of
// version got no token, so that the processes waiting for the lock do not
// send the same refresh token the moment it is free. It lives as long as a
// lock: later uses are not waiters and try again (fetchWithRetry).
func (s *Service) markRefreshFailed(ctx context.Context, id string, version int64) {
	if err := s.opts.Redis.Set(context.WithoutCancel(ctx), failedKey(id), version, s.lockTTL).Err(); err != nil {
		s.opts.Log.WarnContext(ctx, "noting a failed refresh", "connection_id", id, "error", err)
	}
}

// refreshFailed reports whether the last lock holder sent a refresh for
// version and got no token back.
func (s *Service) refreshFailed(ctx context.Context, id string, version int64) bool {
	v, err := s.opts.Redis.Get(ctx, failedKey(id)).Int64()
	return err == nil && v == version
}

// unlockScript deletes the lock only if it still holds our value, so a
// holder never releases a lock that expired and was taken by another.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// lock tries once to take the refresh lock of a connection.
func (s *Service) lock(ctx context.Context, id string) (unlock func(), ok bool, err error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	val := hex.EncodeToString(b)
	ok, err = s.opts.Redis.SetNX(ctx, lockKey(id), val, s.lockTTL).Result()
	if err != nil {
		return nil, false, fmt.Errorf("taking the refresh lock of connection %s: %w", id, err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		if err := unlockScript.Run(context.WithoutCancel(ctx), s.opts.Redis, []string{lockKey(id)}, val).Err(); err != nil {
			s.opts.Log.WarnContext(ctx, "releasing the refresh lock", "connection_id", id, "error", err)
		}
	}, true, nil
}

// waitUnlocked polls, with growing jittered pauses, until nobody holds the
// refresh lock of the connection.
func (s *Service) waitUnlocked(ctx context.Context, id string) error {
	pause := 10 * time.Millisecond
	for {
		n, err := s.opts.Redis.Exists(ctx, lockKey(id)).Result()
		if err != nil {
			return fmt.Errorf("waiting for the refresh lock of connection %s: %w", id, err)
		}
		if n == 0 {
			return nil
		}
		t := time.NewTimer(pause/2 + mrand.N(pause))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for the refresh lock of connection %s: %w", id, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 250*time.Millisecond)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
