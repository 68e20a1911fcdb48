package kube

import (
	"context"
	"slices"
	"sync"
)

// The API server's warnings (a deprecated field, a fractional byte quantity) belong
// in front of the user as Terraform warnings, not in the provider's log. Requests
// made with a context from WithWarnings collect them.

type warningsKey struct{}

// Warnings are the distinct warnings of the requests made with one context.
type Warnings struct {
	mu   sync.Mutex
	msgs []string
}

// WithWarnings returns a context whose requests' warnings w collects.
func WithWarnings(ctx context.Context) (context.Context, *Warnings) {
	w := &Warnings{}
	return context.WithValue(ctx, warningsKey{}, w), w
}

// List returns the warnings collected so far, in order, each once.
func (w *Warnings) List() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

// warningHandler hands each warning to the request context's collector; requests
// without one drop it (client-go would log it).
type warningHandler struct{}

func (warningHandler) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	w, ok := ctx.Value(warningsKey{}).(*Warnings)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.msgs, text) {
		w.msgs = append(w.msgs, text)
	}
}
