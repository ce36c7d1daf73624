package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liaison/liaison/hooks/send"
)

// target is an enabled hook or webhook as intake matches it.
type target struct {
	kind   send.TargetKind
	id     string
	types  []string
	filter *Filter
}

type targets []target

func (ts targets) match(p *prepared, ownOnly bool) []target {
	var out []target
	for _, t := range ts {
		if ownOnly && t.kind != send.TargetWebhook {
			continue
		}
		if !MatchType(t.types, p.Type) {
			continue
		}
		if t.filter != nil && !t.filter.Match(p.scope) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// targetCache keeps the list of enabled targets for intake. Every change
// to a hook or webhook bumps a counter in Redis; intake compares it (one
// GET, cheaper than reading the tables) and reloads when it moved, so a
// hook created through any web process matches the very next event.
type targetCache struct {
	mu       sync.Mutex
	gen      string
	loadedAt time.Time
	list     targets
}

const targetsGenKey = "liaison:hooks:targets:gen"

func (s *Intake) targetsChanged(ctx context.Context) {
	if err := s.opts.Redis.Incr(ctx, targetsGenKey).Err(); err != nil {
		// Without the bump other processes still reload within TargetCacheTTL.
		s.opts.Log.WarnContext(ctx, "announcing a target change", "error", err)
	}
	s.targets.mu.Lock()
	s.targets.gen = ""
	s.targets.mu.Unlock()
}

func (s *Intake) targetList(ctx context.Context) (targets, error) {
	gen, err := s.opts.Redis.Get(ctx, targetsGenKey).Result()
	switch {
	case errors.Is(err, redis.Nil):
		gen = "0"
	case err != nil:
		gen = "" // Redis trouble: read the tables
	}
	c := &s.targets
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != "" && c.gen == gen && time.Since(c.loadedAt) < s.opts.TargetCacheTTL {
		return c.list, nil
	}
	list, err := s.loadTargets(ctx)
	if err != nil {
		return nil, err
	}
	c.gen, c.loadedAt, c.list = gen, time.Now(), list
	return list, nil
}

func (s *Intake) loadTargets(ctx context.Context) (targets, error) {
	var out targets
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT id, event_types, filter FROM hooks WHERE enabled ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading hooks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t      = target{kind: send.TargetHook}
			types  string
			filter sql.NullString
		)
		if err := rows.Scan(&t.id, &types, &filter); err != nil {
			return nil, fmt.Errorf("reading hooks: %w", err)
		}
		if err := json.Unmarshal([]byte(types), &t.types); err != nil {
			return nil, fmt.Errorf("reading hook %s: %w", t.id, err)
		}
		if filter.Valid && filter.String != "" && filter.String != "null" {
			t.filter = &Filter{}
			dec := json.NewDecoder(strings.NewReader(filter.String))
			dec.UseNumber()
			if err := dec.Decode(t.filter); err != nil {
				return nil, fmt.Errorf("reading hook %s filter: %w", t.id, err)
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading hooks: %w", err)
	}
	rows.Close()
	wrows, err := s.opts.DB.QueryContext(ctx, `SELECT id, event_types FROM webhooks WHERE enabled ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading webhooks: %w", err)
	}
	defer wrows.Close()
	for wrows.Next() {
		var (
			t     = target{kind: send.TargetWebhook}
			types string
		)
		if err := wrows.Scan(&t.id, &types); err != nil {
			return nil, fmt.Errorf("reading webhooks: %w", err)
		}
		if err := json.Unmarshal([]byte(types), &t.types); err != nil {
			return nil, fmt.Errorf("reading webhook %s: %w", t.id, err)
		}
		out = append(out, t)
	}
	return out, wrows.Err()
}
