package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
)

// ErrNotFound means no such user.
var ErrNotFound = errors.New("users: user not found")

// Role is what a user may do: admins manage users too.
type Role string

const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// User is a person who signs in to the web UI, as shown: never a hash.
type User struct {
	ID    string
	Email string
	Role  Role
	// ManagesIntegrations is the right to manage private integrations.
	ManagesIntegrations bool
	Disabled            bool
	CreatedAt           time.Time
	UpdatedAt           time.Time
	LastSignInAt        *time.Time
	// HasPassword is false for an invited user who has not chosen one.
	HasPassword bool
}

// IsAdmin reports whether u is an admin.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// Input is a new user, or what a person types when redeeming a link.
type Input struct {
	Email    string
	Password string
	// Role "" means member.
	Role Role
	// ManagesIntegrations nil means on for admins, off for members.
	ManagesIntegrations *bool
}

// Change is what Update changes; nil leaves a field as it is.
type Change struct {
	Role                *Role
	ManagesIntegrations *bool
	Disabled            *bool
}

// NormalizeEmail is how emails are compared and stored: trimmed and
// lower-case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func checkEmail(errs *invalid.Error, email string) {
	switch a, err := mail.ParseAddress(email); {
	case email == "":
		errs.Add("email", "is required")
	case len(email) > MaxEmailLength:
		errs.Add("email", "is %d characters long; at most %d are allowed", len(email), MaxEmailLength)
	case err != nil || a.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@'):], "."):
		errs.Add("email", "is not an email address like name@example.com")
	}
}

func checkPassword(errs *invalid.Error, password string) {
	switch {
	case password == "":
		errs.Add("password", "is required")
	case utf8.RuneCountInString(password) < MinPasswordLength:
		errs.Add("password", "is %d characters long; at least %d are needed", utf8.RuneCountInString(password), MinPasswordLength)
	case len(password) > MaxPasswordBytes:
		errs.Add("password", "is %d bytes long; at most %d are allowed", len(password), MaxPasswordBytes)
	}
}

func checkRole(errs *invalid.Error, r Role) {
	if r != RoleAdmin && r != RoleMember {
		errs.Add("role", "%q is not a role; choose admin or member", string(r))
	}
}

// prepare normalises in and checks it; withPassword says whether a
// password is wanted (Create) or must be left out (Invite).
func (in Input) prepare(withPassword bool) (Input, error) {
	in.Email = NormalizeEmail(in.Email)
	if in.Role == "" {
		in.Role = RoleMember
	}
	errs := &invalid.Error{}
	checkEmail(errs, in.Email)
	if withPassword {
		checkPassword(errs, in.Password)
	} else if in.Password != "" {
		errs.Add("password", "is chosen by the invited person through the link; leave it empty")
	}
	checkRole(errs, in.Role)
	if in.ManagesIntegrations == nil {
		in.ManagesIntegrations = new(in.Role == RoleAdmin)
	}
	return in, errs.Err()
}

func (s *Service) hash(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.o.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("users: hashing the password: %w", err)
	}
	return string(h), nil
}

// execer is a database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// insert stores a prepared user; hash "" leaves it without a password.
func (s *Service) insert(ctx context.Context, q execer, in Input, hash string) (User, error) {
	now := s.now()
	u := User{ID: id.New("usr"), Email: in.Email, Role: in.Role, ManagesIntegrations: *in.ManagesIntegrations,
		CreatedAt: now, UpdatedAt: now, HasPassword: hash != ""}
	ph := sql.NullString{String: hash, Valid: hash != ""}
	_, err := q.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, role, manages_integrations, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, u.ID, u.Email, ph, string(u.Role), u.ManagesIntegrations, false, now, now)
	if db.IsUniqueViolation(err) {
		return User{}, invalid.New("email", "%s already has an account", u.Email)
	}
	if err != nil {
		return User{}, fmt.Errorf("users: creating user: %w", err)
	}
	return u, nil
}

// Create makes a user with a password. Its errors name the fields
// "email", "password" (at least MinPasswordLength characters, at most
// MaxPasswordBytes bytes) and "role".
func (s *Service) Create(ctx context.Context, in Input) (User, error) {
	in, err := in.prepare(true)
	if err != nil {
		return User{}, err
	}
	h, err := s.hash(in.Password)
	if err != nil {
		return User{}, err
	}
	return s.insert(ctx, s.db, in, h)
}

const columns = `u.id, u.email, u.role, u.manages_integrations, u.disabled, u.created_at, u.updated_at, u.last_sign_in_at, u.password_hash`

// scan reads a user's columns (of "users u"), and then into extra any
// columns that follow them, and gives its password hash ("" when none).
func scan(row db.Row, extra ...any) (User, string, error) {
	var (
		u        User
		role     string
		lastSign sql.NullTime
		hash     sql.NullString
	)
	dest := []any{&u.ID, &u.Email, &role, &u.ManagesIntegrations, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &lastSign, &hash}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return User{}, "", err
	}
	u.Role = Role(role)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if lastSign.Valid {
		t := lastSign.Time.UTC()
		u.LastSignInAt = &t
	}
	u.HasPassword = hash.Valid && hash.String != ""
	return u, hash.String, nil
}

func (s *Service) get(ctx context.Context, q execer, id, lock string) (User, string, error) {
	u, h, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM users u WHERE u.id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrNotFound
	}
	if err != nil {
		return User{}, "", fmt.Errorf("users: reading user: %w", err)
	}
	return u, h, nil
}

// Get returns one user.
func (s *Service) Get(ctx context.Context, id string) (User, error) {
	u, _, err := s.get(ctx, s.db, id, "")
	return u, err
}

// List returns every user, oldest first.
func (s *Service) List(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM users u ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("users: listing users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, _, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("users: listing users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: listing users: %w", err)
	}
	return out, nil
}

// Count returns how many users exist, disabled ones included.
func (s *Service) Count(ctx context.Context) (int, error) {
	return count(ctx, s.db)
}

func count(ctx context.Context, q execer) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("users: counting users: %w", err)
	}
	return n, nil
}

// lockUsers makes the transaction the only one that changes users until it
// ends, for the checks that read more than one row (the last admin, the
// first user). On SQLite every transaction holds the write lock already.
func (s *Service) lockUsers(ctx context.Context, tx *sql.Tx) error {
	if s.db.Dialect != db.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("users: locking users: %w", err)
	}
	return nil
}

// Update changes a user's role, right or disabled state. Disabling ends
// the user's sessions at once. The last enabled admin can be neither
// demoted ("role") nor disabled ("disabled").
func (s *Service) Update(ctx context.Context, id string, c Change) (User, error) {
	if c.Role != nil {
		errs := &invalid.Error{}
		checkRole(errs, *c.Role)
		if err := errs.Err(); err != nil {
			return User{}, err
		}
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		u, _, err := s.get(ctx, tx, id, "")
		if err != nil {
			return err
		}
		next := u
		if c.Role != nil {
			next.Role = *c.Role
		}
		if c.ManagesIntegrations != nil {
			next.ManagesIntegrations = *c.ManagesIntegrations
		}
		if c.Disabled != nil {
			next.Disabled = *c.Disabled
		}
		if u.IsAdmin() && !u.Disabled && (!next.IsAdmin() || next.Disabled) {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = $1 AND disabled = $2 AND id <> $3`,
				string(RoleAdmin), false, id).Scan(&others); err != nil {
				return fmt.Errorf("users: counting admins: %w", err)
			}
			if others == 0 {
				field, what := "role", "demoted"
				if next.Disabled {
					field, what = "disabled", "disabled"
				}
				return invalid.New(field, "%s is the last admin and cannot be %s; make another user admin first", u.Email, what)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $1, manages_integrations = $2, disabled = $3, updated_at = $4 WHERE id = $5`,
			string(next.Role), next.ManagesIntegrations, next.Disabled, s.now(), id); err != nil {
			return fmt.Errorf("users: updating user: %w", err)
		}
		if next.Disabled && !u.Disabled {
			return endSessions(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return s.Get(ctx, id)
}

// SetPassword gives the user a new password and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	errs := &invalid.Error{}
	checkPassword(errs, password)
	if err := errs.Err(); err != nil {
		return err
	}
	h, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.setPassword(ctx, tx, id, h) })
}

func (s *Service) setPassword(ctx context.Context, tx *sql.Tx, id, hash string) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, s.now(), id)
	if err != nil {
		return fmt.Errorf("users: setting password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return endSessions(ctx, tx, id)
}

func endSessions(ctx context.Context, tx *sql.Tx, userID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("users: ending sessions: %w", err)
	}
	return nil
}
