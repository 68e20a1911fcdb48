package kube

import (
	"context"
	"reflect"
	"testing"
)

func TestWarningsCollectedPerContext(t *testing.T) {
	ctx, w := WithWarnings(context.Background())
	var h warningHandler
	h.HandleWarningHeaderWithContext(ctx, 299, "-", "fractional byte value")
	h.HandleWarningHeaderWithContext(ctx, 299, "-", "fractional byte value")
	h.HandleWarningHeaderWithContext(ctx, 299, "-", "field is deprecated")
	h.HandleWarningHeaderWithContext(ctx, 199, "-", "not a warning code")
	h.HandleWarningHeaderWithContext(context.Background(), 299, "-", "another request's")
	if got, want := w.List(), []string{"fractional byte value", "field is deprecated"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings %q, want %q", got, want)
	}
}
