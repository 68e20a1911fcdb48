// Package steady sends requests to a URL at a steady rate and measures when a service
// recovered from a disruption: the earliest moment after it from which every full
// 30-second window of requests succeeded at 99% or more.
package steady

import (
	"net/http"
	"sync"
	"sync/atomic"
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
	at time.Time
	ok bool
}

// Start sends a GET to url every interval, at most max times, each with a 1 s timeout.
func Start(url string, interval time.Duration, max int) *Load {
	l := &Load{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		client := &http.Client{Timeout: time.Second}
		for i := 0; i < max && !l.stop.Load(); i++ {
			resp, err := client.Get(url)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				resp.Body.Close()
			}
			l.mu.Lock()
			l.results = append(l.results, result{time.Now(), ok})
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
