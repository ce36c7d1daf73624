package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleZones are the time zones FuzzSchedule pairs a schedule with: zones whose daylight
// saving shifts at midnight, by 30 minutes, or skipped a whole day, where cron libraries
// have looped or fired twice.
var scheduleZones = []string{
	"", "UTC", "Europe/Moscow", "America/Sao_Paulo", "America/Havana", "America/Santiago",
	"Australia/Lord_Howe", "Asia/Tehran", "Asia/Kathmandu", "Pacific/Apia", "Pacific/Chatham",
	"America/New_York", "Europe/London", "Africa/Casablanca", "Etc/GMT+12",
}

// FuzzSchedule checks the schedule validation an import goes through against the parser
// asynq's scheduler uses: a schedule checkSchedule accepts, with any time zone the import
// may name, parses there too and fires, at most once a minute; one it refuses gets a
// message; nothing panics.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{
		"0 3 * * *", "*/15 * * * *", "0 0 * * 0", "30 2 * * *", "0 0 29 2 *", "0 0 30 2 *", "0 0 31 4 *",
		"@every 1h", "@every 1m", "@every 59s", "@every 0s", "@every -1h", "@every 1m0.5s", "@every 2562047h",
		"@every", "@every ", "@daily", "@hourly", "@weekly", "@monthly", "@yearly", "@annually", "@midnight",
		"@reboot", "@DAILY", "* * * * *", "* * * * * *", "0 3 * *", "60 * * * *", "0 24 * * *", "0 0 0 * *",
		"0 0 * 13 *", "0 0 * * 8", "0 0 * * 7", "0 0 * JAN-DEC MON-SUN", "0 0 ? * *", "1-0 * * * *",
		"*/0 * * * *", "0-59/100 * * * *", "5,,6 * * * *", "0 3 * * * extra", "TZ=UTC 0 3 * * *",
		"CRON_TZ=UTC", "TZ=", "0\t3\t*\t*\t*", "", " ", "@", "0 0 L * *", "0 0 1W * *",
	} {
		for zone := range scheduleZones {
			f.Add(s, uint8(zone))
		}
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, spec string, zone uint8) {
		spec = strings.TrimSpace(spec) // as Import.Validate gives it
		err := checkSchedule(spec)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("checkSchedule(%q): an empty error", spec)
			}
			return
		}
		im := Import{Schedule: spec, Timezone: scheduleZones[int(zone)%len(scheduleZones)]}
		sched, err := cron.ParseStandard(im.Cronspec())
		if err != nil {
			t.Fatalf("checkSchedule(%q) accepted it, but the scheduler cannot read %q: %v", spec, im.Cronspec(), err)
		}
		prev := sched.Next(now)
		if prev.IsZero() || !prev.After(now) {
			t.Fatalf("%q in %q: next firing after %v is %v", spec, im.Timezone, now, prev)
		}
		for range 5 {
			next := sched.Next(prev)
			if next.IsZero() {
				t.Fatalf("%q in %q stops firing after %v", spec, im.Timezone, prev)
			}
			if gap := next.Sub(prev); gap < minScheduleInterval {
				t.Fatalf("%q in %q fires at %v and again %v later", spec, im.Timezone, prev, gap)
			}
			prev = next
		}
	})
}
