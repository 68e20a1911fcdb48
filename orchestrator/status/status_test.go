package status

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// fakeAPIServer answers /readyz with body and status, and serves the given leases.
func fakeAPIServer(t *testing.T, readyStatus int, readyBody string, leases map[string]coordinationv1.Lease) *rest.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(readyStatus)
			w.Write([]byte(readyBody))
			return
		}
		const prefix = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
		if name, ok := strings.CutPrefix(r.URL.Path, prefix); ok {
			if l, ok := leases[name]; ok {
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(&l)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

func lease(name string, renewed time.Time) coordinationv1.Lease {
	d := int32(15)
	holder := "host_1234"
	return coordinationv1.Lease{
		TypeMeta:   metav1.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &d, RenewTime: &metav1.MicroTime{Time: renewed}},
	}
}

// TestStatus_OneLinePerComponent: a ready apiserver and etcd, a controller-manager
// renewing its lease, a scheduler whose lease went stale: four lines, not all ready.
func TestStatus_OneLinePerComponent(t *testing.T) {
	cfg := fakeAPIServer(t, http.StatusOK, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n", map[string]coordinationv1.Lease{
		"kube-controller-manager": lease("kube-controller-manager", time.Now()),
		"kube-scheduler":          lease("kube-scheduler", time.Now().Add(-time.Minute)),
	})
	var out bytes.Buffer
	if Print(&out, CheckConfig(context.Background(), cfg)) {
		t.Error("all ready, with a stale scheduler lease")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), out.String())
	}
	for i, want := range []string{"ok   etcd", "ok   kube-apiserver", "ok   kube-controller-manager", "FAIL kube-scheduler"} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
}

// TestStatus_APIServerNotReady: a failing /readyz names the failing checks, and etcd's
// own line carries its failure.
func TestStatus_APIServerNotReady(t *testing.T) {
	cfg := fakeAPIServer(t, http.StatusInternalServerError, "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n", nil)
	var out bytes.Buffer
	if Print(&out, CheckConfig(context.Background(), cfg)) {
		t.Fatal("all ready with a failing /readyz")
	}
	for _, want := range []string{"FAIL etcd", "failed: reason withheld", "FAIL kube-apiserver", "failing checks: etcd", "FAIL kube-scheduler", "no leader lease"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
