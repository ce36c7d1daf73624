package config_test

import (
	"net"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/config"
)

// readmeDefaults reads the default column of README.md's configuration
// table: variable → cell, backticks included.
func readmeDefaults(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	out := map[string]string{}
	for line := range strings.Lines(string(readme)) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		// "| `NAME` | default | meaning |" splits into 5 cells, the first and last empty.
		if len(cells) < 5 || cells[0] != "" {
			continue
		}
		name, ok := strings.CutPrefix(strings.TrimSpace(cells[1]), "`")
		if !ok {
			continue
		}
		name, ok = strings.CutSuffix(name, "`")
		if !ok || name != strings.ToUpper(name) {
			continue
		}
		out[name] = strings.TrimSpace(cells[2])
	}
	return out
}

// TestREADMEDefaultsAreTheConstants: the default the README's table shows
// for a variable is what Load takes when it is unset, which is the
// constant of the package that owns it (jobs.DefaultDeliveryConcurrency,
// hooks.DefaultSchedule, db.DefaultPoolSize…). Setting the variable to the
// README's value must change nothing; a variable without a default shows
// a word instead and is left empty.
func TestREADMEDefaultsAreTheConstants(t *testing.T) {
	t.Parallel()
	shown := readmeDefaults(t)
	defaults, err := config.Load(env(nil))
	require.NoError(t, err)
	_, port, err := net.SplitHostPort(defaults.ListenAddr)
	require.NoError(t, err)

	// Variables whose unset value is no value: what the README says instead.
	without := map[string]string{
		"HEALTH_ADDR":   "none",
		"ALLOWED_CIDRS": "none",
		"REDIS_URL":     "embedded (dev only)",
		"SECRET_KEYS":   "key file beside the SQLite database",
	}
	field := map[string]reflect.Value{}
	v := reflect.ValueOf(defaults)
	for i := range v.NumField() {
		field[v.Type().Field(i).Tag.Get("env")] = v.Field(i)
	}

	for _, name := range config.Variables() {
		cell, ok := shown[name]
		require.True(t, ok, "README.md's table has no row for %s", name)
		if word, ok := without[name]; ok {
			require.Equal(t, word, cell, "README.md's default of %s", name)
			require.True(t, field[name].IsZero(), "%s has a default (%v); README.md says %q", name, field[name], cell)
			continue
		}
		value, ok := strings.CutPrefix(cell, "`")
		if ok {
			value, ok = strings.CutSuffix(value, "`")
		}
		require.True(t, ok && !strings.Contains(value, "`"), "README.md's default of %s is %s; want one `value`", name, cell)
		value = strings.ReplaceAll(value, "<port>", port) // PUBLIC_URL follows LISTEN_ADDR
		set, err := config.Load(env(map[string]string{name: value}))
		require.NoError(t, err, "README.md's default of %s", name)
		require.Equal(t, defaults, set, "README.md shows %s for %s, which is not its default %v", cell, name, field[name])
	}
}
