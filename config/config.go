package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/logging"
	"github.com/liaison/liaison/jobs"
)

// Config is everything Liaison reads from its environment. Each field names
// its variable in the env tag; the default is in the comment.
type Config struct {
	// ListenAddr is where the web process listens. LISTEN_ADDR, default ":8080".
	ListenAddr string `env:"LISTEN_ADDR" validate:"listenaddr"`
	// HealthAddr, when set, is where the worker and scheduler processes
	// serve /healthz and /readyz for a supervisor's probes (the web process
	// serves them on ListenAddr). HEALTH_ADDR, default none.
	HealthAddr string `env:"HEALTH_ADDR" validate:"omitempty,listenaddr"`
	// PublicURL is the address people and other services reach Liaison at; the
	// OAuth redirect URI is built from it. PUBLIC_URL, default
	// "http://localhost" plus the port of ListenAddr.
	PublicURL string `env:"PUBLIC_URL" validate:"required,httpurl"`
	// DatabaseURL is "postgres://…" (or "postgresql://…") for PostgreSQL or
	// "sqlite:PATH" for the embedded SQLite file. DATABASE_URL, default
	// "sqlite:./liaison.db".
	DatabaseURL string `env:"DATABASE_URL" secret:"true" validate:"required,dburl"`
	// DatabasePoolSize is the most connections one process opens to
	// PostgreSQL; work beyond it waits for a free one. Every process has
	// its own pool, so PostgreSQL needs processes × DatabasePoolSize plus
	// headroom. DATABASE_POOL_SIZE, default db.DefaultPoolSize. SQLite
	// ignores it.
	DatabasePoolSize int `env:"DATABASE_POOL_SIZE" validate:"min=2,max=1000"`
	// RedisURL names the Redis that carries the queue; empty means an embedded,
	// in-process Redis whose queued work is lost on restart. REDIS_URL, forms:
	//   redis://[user:password@]host:port[/db]        one server
	//   rediss://…                                     the same over TLS
	//   redis-sentinel://[:password@]host:port[/db]?master_name=NAME[&addr=host2:port…]
	//   redis-cluster://[user:password@]host:port[?addr=host2:port…]
	RedisURL string `env:"REDIS_URL" secret:"true" validate:"omitempty,redisurl"`
	// SecretKeys seal secrets at rest: base64 32-byte keys, comma-separated,
	// newest first. SECRET_KEYS, no default (liaison dev makes a key file).
	SecretKeys [][]byte `env:"SECRET_KEYS" secret:"true" validate:"dive,len=32"`
	// LogLevel is debug, info, warn or error. LOG_LEVEL, default
	// logging.DefaultLevel.
	LogLevel string `env:"LOG_LEVEL" validate:"oneof=debug info warn error"`
	// LogFormat is text or json. LOG_FORMAT, default logging.DefaultFormat.
	LogFormat string `env:"LOG_FORMAT" validate:"oneof=text json"`
	// DeliveryConcurrency is how many deliveries (action hooks, webhooks,
	// call callbacks) one worker process runs at once. DELIVERY_CONCURRENCY,
	// default jobs.DefaultDeliveryConcurrency.
	DeliveryConcurrency int `env:"DELIVERY_CONCURRENCY" validate:"min=1,max=10000"`
	// WorkerConcurrency is how many of the other tasks (API calls, feed
	// imports, sweeps) one worker process runs at once. WORKER_CONCURRENCY,
	// default jobs.DefaultConcurrency.
	WorkerConcurrency int `env:"WORKER_CONCURRENCY" validate:"min=1,max=10000"`
	// DeliveryPollInterval is how often an idle worker looks for new
	// deliveries in Redis. DELIVERY_POLL_INTERVAL, default
	// jobs.DefaultDeliveryPoll: it is most of the wait between an event's
	// 202 and its delivery (0.5–1.5 of it, at random), and costs an idle
	// worker a share of a core (figures: README, Performance).
	DeliveryPollInterval time.Duration `env:"DELIVERY_POLL_INTERVAL" validate:"min=1ms,max=5s"`
	// AllowedCIDRs open address ranges that the outbound guard refuses by
	// default (loopback, private networks…). ALLOWED_CIDRS, comma-separated,
	// default none; liaison dev opens loopback when it is unset (or empty),
	// and only then.
	AllowedCIDRs []netip.Prefix `env:"ALLOWED_CIDRS"`
	// ShutdownTimeout bounds a graceful stop: in-flight requests and tasks get
	// this long to finish. SHUTDOWN_TIMEOUT, default
	// jobs.DefaultShutdownTimeout.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" validate:"min=1s,max=10m"`
	// MaxBodyBytes limits a request body to the API. MAX_BODY_BYTES, default
	// api.DefaultMaxBodyBytes.
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES" validate:"min=1024,max=104857600"`
	// TokenRotationOverlap is how long old and new secrets of an access token
	// both work after "rotate and expire later". TOKEN_ROTATION_OVERLAP,
	// default access.DefaultRotationOverlap.
	TokenRotationOverlap time.Duration `env:"TOKEN_ROTATION_OVERLAP" validate:"min=1m,max=2160h"`
	// DeliverySchedule is the wait before each attempt of an action hook or
	// event webhook, comma-separated Go durations; its length is the number
	// of attempts (±20 % jitter is added). DELIVERY_SCHEDULE, default
	// hooks.DefaultSchedule(). Tests scale it to milliseconds.
	DeliverySchedule []time.Duration `env:"DELIVERY_SCHEDULE" validate:"min=1,max=100,dive,min=0,max=720h"`
	// CallSchedule is the same for API-call nodes. CALL_SCHEDULE, default
	// calls.DefaultSchedule().
	CallSchedule []time.Duration `env:"CALL_SCHEDULE" validate:"min=1,max=100,dive,min=0,max=720h"`
	// WebhookRotationOverlap is how long the previous webhook secret keeps
	// signing beside the new one after a rotation. WEBHOOK_ROTATION_OVERLAP,
	// default hooks.DefaultRotationOverlap.
	WebhookRotationOverlap time.Duration `env:"WEBHOOK_ROTATION_OVERLAP" validate:"min=1ms,max=720h"`
	// WebhookDisableAfter disables a webhook endpoint whose attempts have
	// all failed for this long. WEBHOOK_DISABLE_AFTER, default
	// hooks.DefaultDisableAfter.
	WebhookDisableAfter time.Duration `env:"WEBHOOK_DISABLE_AFTER" validate:"min=1ms,max=8760h"`
	// DeliveryRetention is how long finished deliveries, their attempts and
	// their events are kept. DELIVERY_RETENTION, default
	// hooks.DefaultRetention.
	DeliveryRetention time.Duration `env:"DELIVERY_RETENTION" validate:"min=1ms,max=87600h"`
	// CallRetention is how long an API call that ended is kept, with its
	// attempts and its callback, for GET /v1/calls/{id} and idempotency
	// keys. CALL_RETENTION, default calls.DefaultRetention.
	CallRetention time.Duration `env:"CALL_RETENTION" validate:"min=1m,max=8760h"`
}

// Defaults that belong to configuration itself; every other default is
// the constant of the package that applies it (named in the field's
// comment), and Load reads it from there.
const (
	DefaultListenAddr  = ":8080"
	DefaultDatabaseURL = "sqlite:./liaison.db"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	Var     string // the environment variable
	Message string // what is wrong and what is expected, in plain words
}

func (p Problem) String() string { return p.Var + ": " + p.Message }

// Error lists every problem found by Load.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "configuration has %d problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads the configuration through getenv (os.Getenv in main) and checks
// it. The error, when not nil, is an *Error listing every problem.
func Load(getenv func(string) string) (Config, error) {
	var (
		c        Config
		problems []Problem
	)
	bad := func(v, msg string) { problems = append(problems, Problem{Var: v, Message: msg}) }
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}

	c.ListenAddr = get("LISTEN_ADDR", DefaultListenAddr)
	c.HealthAddr = get("HEALTH_ADDR", "")
	c.DatabaseURL = get("DATABASE_URL", DefaultDatabaseURL)
	c.RedisURL = get("REDIS_URL", "")
	c.LogLevel = strings.ToLower(get("LOG_LEVEL", logging.DefaultLevel))
	c.LogFormat = strings.ToLower(get("LOG_FORMAT", logging.DefaultFormat))

	c.PublicURL = strings.TrimRight(get("PUBLIC_URL", ""), "/")
	if c.PublicURL == "" {
		_, port, _ := net.SplitHostPort(DefaultListenAddr)
		if _, p, err := net.SplitHostPort(c.ListenAddr); err == nil && p != "" {
			port = p
		}
		c.PublicURL = "http://localhost:" + port
	}

	c.DeliveryConcurrency = whole(get, bad, "DELIVERY_CONCURRENCY", jobs.DefaultDeliveryConcurrency, "a whole number")
	c.DatabasePoolSize = whole(get, bad, "DATABASE_POOL_SIZE", db.DefaultPoolSize, "a whole number")
	c.WorkerConcurrency = whole(get, bad, "WORKER_CONCURRENCY", jobs.DefaultConcurrency, "a whole number")
	c.MaxBodyBytes = whole(get, bad, "MAX_BODY_BYTES", int64(api.DefaultMaxBodyBytes), "a whole number of bytes")
	c.ShutdownTimeout = duration(get, bad, "SHUTDOWN_TIMEOUT", jobs.DefaultShutdownTimeout)
	c.DeliveryPollInterval = duration(get, bad, "DELIVERY_POLL_INTERVAL", jobs.DefaultDeliveryPoll)
	c.TokenRotationOverlap = duration(get, bad, "TOKEN_ROTATION_OVERLAP", access.DefaultRotationOverlap)
	c.DeliverySchedule = schedule(get, bad, "DELIVERY_SCHEDULE", hooks.DefaultSchedule())
	c.CallSchedule = schedule(get, bad, "CALL_SCHEDULE", calls.DefaultSchedule())
	c.WebhookRotationOverlap = duration(get, bad, "WEBHOOK_ROTATION_OVERLAP", hooks.DefaultRotationOverlap)
	c.WebhookDisableAfter = duration(get, bad, "WEBHOOK_DISABLE_AFTER", hooks.DefaultDisableAfter)
	c.DeliveryRetention = duration(get, bad, "DELIVERY_RETENTION", hooks.DefaultRetention)
	c.CallRetention = duration(get, bad, "CALL_RETENTION", calls.DefaultRetention)

	for i, k := range splitList(getenv("SECRET_KEYS")) {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			// Never repeat the value: name the position only.
			bad("SECRET_KEYS", fmt.Sprintf("key %d is not valid base64; expected 32 random bytes in standard base64 (e.g. from `openssl rand -base64 32`)", i+1))
			continue
		}
		if slices.ContainsFunc(c.SecretKeys, func(o []byte) bool { return bytes.Equal(o, key) }) {
			bad("SECRET_KEYS", fmt.Sprintf("key %d repeats an earlier key; each key must be given once", i+1))
			continue
		}
		c.SecretKeys = append(c.SecretKeys, key)
	}
	for _, s := range splitList(getenv("ALLOWED_CIDRS")) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				bad("ALLOWED_CIDRS", fmt.Sprintf("%q is not a CIDR range; expected e.g. 127.0.0.0/8 or ::1/128", s))
				continue
			}
		}
		c.AllowedCIDRs = append(c.AllowedCIDRs, p.Masked())
	}

	problems = append(problems, validate(c)...)
	if len(problems) > 0 {
		return c, &Error{Problems: problems}
	}
	return c, nil
}

// whole reads a whole number; unset, it is def.
func whole[T int | int64](get func(string, string) string, bad func(string, string), name string, def T, what string) T {
	v := get(name, "")
	if v == "" {
		return def
	}
	bits := 64
	if _, ok := any(def).(int); ok {
		bits = strconv.IntSize
	}
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		bad(name, fmt.Sprintf("is not %s; expected e.g. %d", what, def))
		return def
	}
	return T(n)
}

// duration reads a Go duration; unset, it is def.
func duration(get func(string, string) string, bad func(string, string), name string, def time.Duration) time.Duration {
	v := get(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		bad(name, "is not a duration; expected e.g. "+short(def))
		return def
	}
	return d
}

// schedule reads comma-separated durations; unset, it is def. The
// validator checks bounds.
func schedule(get func(string, string) string, bad func(string, string), name string, def []time.Duration) []time.Duration {
	v := get(name, "")
	if v == "" {
		return def
	}
	steps := make([]string, len(def))
	for i, d := range def {
		steps[i] = short(d)
	}
	var out []time.Duration
	for i, f := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			bad(name, fmt.Sprintf("step %d (%q) is not a duration; expected comma-separated durations like %s", i+1, strings.TrimSpace(f), strings.Join(steps, ",")))
			continue
		}
		out = append(out, d)
	}
	return out
}

// short writes d as people write it in the environment: 168h and 5m
// rather than time.Duration's 168h0m0s and 5m0s.
func short(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// SQLitePath is the file of an embedded database, "" on PostgreSQL.
func (c Config) SQLitePath() string {
	if p, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:"); ok {
		return filepath.Clean(p)
	}
	return ""
}

// Postgres reports whether the database is PostgreSQL.
func (c Config) Postgres() bool { return c.SQLitePath() == "" }

// RedirectURI is the OAuth redirect URI that people copy into the other
// service's app settings.
func (c Config) RedirectURI() string { return c.PublicURL + "/oauth/callback" }

var validate = newValidator()

// Variables lists every environment variable Load reads, in the order of
// Config's fields, for --help and for the test that keeps the README's
// table complete.
func Variables() []string {
	var out []string
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("env"); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// secretVars are the variables whose values never appear in a message.
var secretVars = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("secret") == "true" {
			m[f.Tag.Get("env")] = true
		}
	}
	return m
}()

func newValidator() func(Config) []Problem {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return f.Tag.Get("env") })
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(v.RegisterValidation("listenaddr", func(fl validator.FieldLevel) bool {
		host, port, err := net.SplitHostPort(fl.Field().String())
		if err != nil {
			return false
		}
		n, err := strconv.Atoi(port)
		return err == nil && n >= 0 && n <= 65535 && !strings.ContainsAny(host, "/ ")
	}))
	must(v.RegisterValidation("httpurl", func(fl validator.FieldLevel) bool {
		u, err := url.Parse(fl.Field().String())
		return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && (u.Path == "" || u.Path == "/") && u.RawQuery == ""
	}))
	must(v.RegisterValidation("dburl", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		if p, ok := strings.CutPrefix(s, "sqlite:"); ok {
			return p != ""
		}
		u, err := url.Parse(s)
		return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && u.Host != ""
	}))
	must(v.RegisterValidation("redisurl", func(fl validator.FieldLevel) bool {
		u, err := url.Parse(fl.Field().String())
		if err != nil || u.Host == "" {
			return false
		}
		switch u.Scheme {
		case "redis", "rediss", "redis-cluster", "rediss-cluster":
			return true
		case "redis-sentinel", "rediss-sentinel":
			return u.Query().Get("master_name") != ""
		}
		return false
	}))

	return func(c Config) []Problem {
		err := v.Struct(c)
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			if err != nil {
				return []Problem{{Var: "(config)", Message: err.Error()}}
			}
			return nil
		}
		out := make([]Problem, 0, len(verrs))
		for _, fe := range verrs {
			out = append(out, Problem{Var: varName(fe), Message: explain(fe)})
		}
		return out
	}
}

func varName(fe validator.FieldError) string {
	name := fe.Field()
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i] // SECRET_KEYS[1] → SECRET_KEYS
	}
	return name
}

// explain turns one validation failure into plain words. Values of secret
// variables are never quoted.
func explain(fe validator.FieldError) string {
	shown := ""
	if !secretVars[varName(fe)] {
		shown = fmt.Sprintf(" (got %q)", fmt.Sprint(fe.Value()))
	}
	switch fe.Tag() {
	case "required":
		return "is required"
	case "listenaddr":
		return "is not a listen address" + shown + "; expected host:port or :port, e.g. " + DefaultListenAddr
	case "httpurl":
		return "is not an http(s) base URL" + shown + "; expected e.g. https://liaison.example.com, without a path or query"
	case "dburl":
		return "is not a database URL; expected postgres://user:password@host:5432/dbname or sqlite:PATH"
	case "redisurl":
		return "is not a Redis URL; expected redis://host:6379/0, rediss://…, redis-sentinel://host:26379?master_name=NAME or redis-cluster://host:6379"
	case "oneof":
		return "is not one of " + strings.ReplaceAll(fe.Param(), " ", ", ") + shown
	case "len":
		return fmt.Sprintf("key %s is %d bytes long; expected exactly %s bytes (base64 of 32 random bytes)", keyIndex(fe), reflect.ValueOf(fe.Value()).Len(), fe.Param())
	case "min":
		return "is below the minimum of " + fe.Param() + shown
	case "max":
		return "is above the maximum of " + fe.Param() + shown
	}
	return "is not valid (" + fe.Tag() + ")" + shown
}

func keyIndex(fe validator.FieldError) string {
	name := fe.Field()
	i, j := strings.IndexByte(name, '['), strings.IndexByte(name, ']')
	if i < 0 || j < i {
		return "?"
	}
	n, err := strconv.Atoi(name[i+1 : j])
	if err != nil {
		return "?"
	}
	return strconv.Itoa(n + 1)
}
