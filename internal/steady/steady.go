// Package steady sends requests to a URL at a steady rate and measures when a service
// recovered from a disruption: the earliest moment after it from which every full
// 30-second window of requests succeeded at 99% or more.
package steady

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Load is a running stream of requests; bounded in count and time, it stops by itself.
type Load struct {
	mu      sync.Mutex
	results []result
	stop    atomic.Bool
	done    chan struct{}
}

type result struct {
	at   time.Time
	ok   bool
	fail string // why a request failed: "timeout", "refused", "status 503", ...
}

// Start sends a GET to url every interval, at most max times, each with a 2 s timeout.
// The timeout is about the service answering, not answering fast: on a loaded 2-core CI
// machine a healthy answer sometimes took over a second.
func Start(url string, interval time.Duration, max int) *Load {
	l := &Load{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		client := &http.Client{Timeout: 2 * time.Second}
		for i := 0; i < max && !l.stop.Load(); i++ {
			resp, err := client.Get(url)
			r := result{ok: err == nil && resp.StatusCode == http.StatusOK}
			switch {
			case err != nil && errors.Is(err, syscall.ECONNREFUSED):
				r.fail = "refused"
			case err != nil && os.IsTimeout(err):
				r.fail = "timeout"
			case err != nil:
				r.fail = "error"
			case !r.ok:
				r.fail = "status " + strconv.Itoa(resp.StatusCode)
			}
			if err == nil {
				resp.Body.Close()
			}
			r.at = time.Now()
			l.mu.Lock()
			l.results = append(l.results, r)
			l.mu.Unlock()
			time.Sleep(interval)
		}
	}()
	return l
}

// Stop ends the requests and waits for the last one.
func (l *Load) Stop() {
	l.stop.Store(true)
	<-l.done
}

// Count is how many requests were sent.
func (l *Load) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.results)
}

// Failures lists the failed requests after since, as "12.3s timeout", for the log: when
// a recovery takes long, it shows which failures kept the windows below 99%.
func (l *Load) Failures(since time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.results {
		if !r.ok && !r.at.Before(since) {
			out = append(out, fmt.Sprintf("%.1fs %s", r.at.Sub(since).Seconds(), r.fail))
		}
	}
	return strings.Join(out, ", ")
}

// RecoveredAfter is how long after since the service answered again: the earliest
// request after since from which every full 30 s window (to the end of the run)
// succeeded at 99% or more. It is negative when the run never got there.
func (l *Load) RecoveredAfter(since time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := l.results
	if len(rs) == 0 {
		return -1
	}
	const window = 30 * time.Second
	last := rs[len(rs)-1].at
	windowOK := make([]bool, len(rs))
	for j := range rs {
		if last.Sub(rs[j].at) < window {
			windowOK[j] = true // not a full window
			continue
		}
		n, okN := 0, 0
		for k := j; k < len(rs) && rs[k].at.Sub(rs[j].at) <= window; k++ {
			n++
			if rs[k].ok {
				okN++
			}
		}
		windowOK[j] = float64(okN) >= 0.99*float64(n)
	}
	recovered := time.Duration(-1)
	for i := len(rs) - 1; i >= 0 && windowOK[i] && !rs[i].at.Before(since); i-- {
		recovered = rs[i].at.Sub(since)
	}
	return recovered
}
