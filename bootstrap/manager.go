package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Phase is one step of an operation, run on every host before the next phase starts
// (k0sctl's model): facts are gathered on all hosts before anything changes, and a
// failure on one host stops the operation before the next phase.
type Phase interface {
	Title() string
	Run(ctx context.Context, h *Host) error
}

// ShouldRunner is a phase that may have nothing to do on a host (it already holds);
// the manager asks it after the earlier phases ran.
type ShouldRunner interface {
	ShouldRun(h *Host) bool
}

// CleanUpper is a phase that leaves something to undo (a connection, a lock) however
// the operation ends. Clean-ups run in reverse order, after success, failure or
// cancellation, on every host the phase ran on; their failures only warn.
type CleanUpper interface {
	CleanUp(ctx context.Context, h *Host)
}

// Manager runs phases on many hosts in parallel.
type Manager struct {
	Phases []Phase
	// Concurrency bounds the hosts worked on at once; default 10.
	Concurrency int
	// Logf receives every log line; hosts' lines start with the host's name.
	Logf func(format string, args ...any)
	// CleanUpTimeout bounds the clean-ups after a cancelled run; default 30s.
	CleanUpTimeout time.Duration
}

type ranPhase struct {
	phase Phase
	hosts []*Host
}

// Run runs the phases in order. The context is checked between phases; a cancelled
// context also stops the phase running, through the commands it runs.
func (m *Manager) Run(ctx context.Context, hosts []*Host) (err error) {
	logf := m.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	for _, h := range hosts {
		h.init(logf)
	}
	var ran []ranPhase
	defer func() { m.cleanUp(ctx, ran, logf) }()

	for _, p := range m.Phases {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before phase %q: %w", p.Title(), err)
		}
		var targets []*Host
		for _, h := range hosts {
			if sr, ok := p.(ShouldRunner); !ok || sr.ShouldRun(h) {
				targets = append(targets, h)
			}
		}
		if len(targets) == 0 {
			continue
		}
		logf("==> Running phase: %s", p.Title())
		ran = append(ran, ranPhase{p, targets})
		if err := m.parallel(ctx, p.Title(), targets, func(h *Host) error { return p.Run(ctx, h) }); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) parallel(ctx context.Context, title string, hosts []*Host, fn func(h *Host) error) error {
	n := m.Concurrency
	if n <= 0 {
		n = 10
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = h.wrapErr(title, ctx.Err())
				return
			}
			defer func() { <-sem }()
			if err := fn(h); err != nil {
				errs[i] = h.wrapErr(title, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (m *Manager) cleanUp(ctx context.Context, ran []ranPhase, logf func(string, ...any)) {
	timeout := m.CleanUpTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	// A cancelled operation still releases its locks and connections.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	for i := len(ran) - 1; i >= 0; i-- {
		cu, ok := ran[i].phase.(CleanUpper)
		if !ok {
			continue
		}
		var wg sync.WaitGroup
		for _, h := range ran[i].hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cu.CleanUp(cctx, h)
			}()
		}
		wg.Wait()
	}
}
