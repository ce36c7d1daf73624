package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/liaison/liaison/internal/invalid"
)

// ErrLinkInvalid means the link is unknown, used or expired (or, for a
// setup link, a user exists already).
var ErrLinkInvalid = errors.New("users: this link is unknown, used or expired")

// Purpose is what a one-time link is for.
type Purpose string

const (
	// PurposeSetup creates the first admin, while no user exists.
	PurposeSetup Purpose = "setup"
	// PurposeInvite lets an invited user choose a password.
	PurposeInvite Purpose = "invite"
	// PurposeReset lets a user choose a new password.
	PurposeReset Purpose = "reset"
)

// Link is what a one-time link's token opens, as shown before redeeming.
type Link struct {
	Purpose Purpose
	// UserID and Email are the user an invitation or a reset is for;
	// empty for setup.
	UserID    string
	Email     string
	ExpiresAt time.Time
}

// newLink stores a link and returns its token: only the token's hash is
// kept.
func (s *Service) newLink(ctx context.Context, q execer, p Purpose, userID string, lifetime time.Duration) (string, error) {
	token := newSecret()
	now := s.now()
	_, err := q.ExecContext(ctx, `INSERT INTO user_links (token_hash, purpose, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		sha(token), string(p), sql.NullString{String: userID, Valid: userID != ""}, now, now.Add(lifetime))
	if err != nil {
		return "", fmt.Errorf("users: making a %s link: %w", p, err)
	}
	return token, nil
}

// SetupLink makes a one-time link that creates the first admin; ok is false,
// and no link made, when a user exists already.
func (s *Service) SetupLink(ctx context.Context) (token string, ok bool, err error) {
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		n, err := count(ctx, tx)
		if err != nil || n > 0 {
			return err
		}
		token, err = s.newLink(ctx, tx, PurposeSetup, "", s.o.SetupLinkLifetime)
		ok = err == nil
		return err
	})
	if err != nil {
		return "", false, err
	}
	return token, ok, nil
}

// Invite creates a user without a password and returns it with the token
// of its one-time invitation link. in.Password must be empty.
func (s *Service) Invite(ctx context.Context, in Input) (User, string, error) {
	in, err := in.prepare(false)
	if err != nil {
		return User{}, "", err
	}
	var (
		u     User
		token string
	)
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if u, err = s.insert(ctx, tx, in, ""); err != nil {
			return err
		}
		token, err = s.newLink(ctx, tx, PurposeInvite, u.ID, s.o.LinkLifetime)
		return err
	})
	if err != nil {
		return User{}, "", err
	}
	return u, token, nil
}

// ResetLink returns the token of a one-time link with which the user
// chooses a new password.
func (s *Service) ResetLink(ctx context.Context, userID string) (string, error) {
	if _, err := s.Get(ctx, userID); err != nil {
		return "", err
	}
	return s.newLink(ctx, s.db, PurposeReset, userID, s.o.LinkLifetime)
}

// Link returns what a token opens, or ErrLinkInvalid when it is unknown,
// used or expired, for a disabled user, or a setup link once a user
// exists.
func (s *Service) Link(ctx context.Context, token string) (Link, error) {
	var (
		l       Link
		purpose string
		userID  sql.NullString
		email   sql.NullString
	)
	err := s.db.QueryRowContext(ctx, `SELECT l.purpose, l.user_id, u.email, l.expires_at FROM user_links l LEFT JOIN users u ON u.id = l.user_id
		WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND (u.id IS NULL OR u.disabled = $3)`, sha(token), s.now(), false).Scan(&purpose, &userID, &email, &l.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, ErrLinkInvalid
	}
	if err != nil {
		return Link{}, fmt.Errorf("users: reading link: %w", err)
	}
	l.Purpose, l.UserID, l.Email, l.ExpiresAt = Purpose(purpose), userID.String, email.String, l.ExpiresAt.UTC()
	if l.Purpose == PurposeSetup {
		if n, err := s.Count(ctx); err != nil {
			return Link{}, err
		} else if n > 0 {
			return Link{}, ErrLinkInvalid
		}
	}
	return l, nil
}

// Redeem uses a link, once. Setup creates the first admin from in (email
// and password; role and right are an admin's), only while no user exists;
// invite and reset set the link's user's password from in.Password (its
// other fields are not read) and end that user's sessions. Field errors
// leave the link unused. ErrLinkInvalid when it is unknown, used, expired,
// or a setup link once a user exists. The person is not signed in:
// StartSession does that.
func (s *Service) Redeem(ctx context.Context, token string, in Input) (User, error) {
	l, err := s.Link(ctx, token)
	if err != nil {
		return User{}, err
	}
	var hash string
	if l.Purpose == PurposeSetup {
		in.Role, in.ManagesIntegrations = RoleAdmin, nil
		if in, err = in.prepare(true); err != nil {
			return User{}, err
		}
	} else {
		errs := &invalid.Error{}
		checkPassword(errs, in.Password)
		if err := errs.Err(); err != nil {
			return User{}, err
		}
	}
	if hash, err = s.hash(in.Password); err != nil {
		return User{}, err
	}
	var u User
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		// Marked used by the statement that checks it: of two redeeming at
		// once, one finds it unused.
		now := s.now()
		var (
			purpose string
			userID  sql.NullString
		)
		err := tx.QueryRowContext(ctx, `UPDATE user_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3
			RETURNING purpose, user_id`, now, sha(token), now).Scan(&purpose, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLinkInvalid
		}
		if err != nil {
			return fmt.Errorf("users: redeeming link: %w", err)
		}
		if Purpose(purpose) == PurposeSetup {
			if n, err := count(ctx, tx); err != nil {
				return err
			} else if n > 0 {
				return ErrLinkInvalid
			}
			u, err = s.insert(ctx, tx, in, hash)
			return err
		}
		if err := s.setPassword(ctx, tx, userID.String, hash); err != nil {
			return err
		}
		u, _, err = s.get(ctx, tx, userID.String, "")
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}
