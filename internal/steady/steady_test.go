package steady

import (
	"testing"
	"time"
)

func TestRecoveredAfter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &Load{}
	// One request a second for 100 s; requests fail from 10 s to 24 s.
	for i := 0; i < 100; i++ {
		l.results = append(l.results, result{at: t0.Add(time.Duration(i) * time.Second), ok: i < 10 || i >= 25})
	}
	if got := l.RecoveredAfter(t0.Add(10 * time.Second)); got != 15*time.Second {
		t.Errorf("recovered after %v, want 15s", got)
	}
	// A failure late in the run means no recovery yet.
	l.results[90].ok = false
	l.results[91].ok = false
	if got := l.RecoveredAfter(t0.Add(10 * time.Second)); got >= 0 && got < 60*time.Second {
		t.Errorf("with failures at 90 s, recovered after %v", got)
	}
	l.results[90].fail, l.results[91].fail = "timeout", "refused"
	if got, want := l.Failures(t0.Add(80*time.Second)), "10.0s timeout, 11.0s refused"; got != want {
		t.Errorf("failures = %q, want %q", got, want)
	}
	if got := (&Load{}).RecoveredAfter(t0); got >= 0 {
		t.Errorf("no requests: %v", got)
	}
}
