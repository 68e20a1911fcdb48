package provider

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kschema"
)

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return normalizeNumbers(m).(map[string]any)
}

// normalizeNumbers turns encoding/json's float64s into the int64s the dynamic
// client and fromTF give for whole numbers.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}

// What the manifest sets comes back as it was written when only others changed
// the object, and a changed field shows.
func TestProjectManifest(t *testing.T) {
	want := jsonOf(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"app":"p"}},
		"spec":{"containers":[{"name":"a","image":"x","resources":{"limits":{"cpu":"1000m"}}},{"name":"b","image":"y","ports":[{"containerPort":"80"}]}]}}`)
	live := jsonOf(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","uid":"u","labels":{"app":"p","added":"by-someone"}},
		"spec":{"restartPolicy":"Always","containers":[{"name":"b","image":"y","ports":[{"containerPort":80,"protocol":"TCP"}]},
		{"name":"a","image":"x","imagePullPolicy":"Always","resources":{"limits":{"cpu":"1"}}}]},"status":{"phase":"Pending"}}`)
	if got := projectManifest(live, want); !reflect.DeepEqual(got, want) {
		t.Fatalf("projection:\n%v\nwant:\n%v", got, want)
	}
	live["metadata"].(map[string]any)["labels"].(map[string]any)["app"] = "edited"
	got := projectManifest(live, want).(map[string]any)
	if l := got["metadata"].(map[string]any)["labels"].(map[string]any)["app"]; l != "edited" {
		t.Fatalf("an edited label must show: %v", l)
	}
}

// The value Read builds from JSON is the one HCL makes of the same object, so an
// import with a matching configuration plans nothing.
func TestManifestValuesRoundTrip(t *testing.T) {
	j := jsonOf(t, `{"a":"x","n":3,"f":1.5,"b":true,"l":[{"k":"v"},"s",2],"o":{"p":{}}}`)
	back, err := fromTF(toTF(j))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, j) {
		t.Fatalf("round trip:\n%v\n%v", back, j)
	}
}

// Import takes what users' managers set: owned labels, owned fields, whole atomic
// values, the keyed elements they own; not status or a controller's additions.
func TestImportManifest(t *testing.T) {
	live := jsonOf(t, `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role",
		"metadata":{"name":"r","namespace":"shop","uid":"u","labels":{"team":"a","added":"x"},"annotations":{"ctl":"y"}},
		"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}],"status":{"x":1}}`)
	var managed kschema.Managed
	if err := json.Unmarshal([]byte(`{"f:metadata":{"f:labels":{"f:team":{}}},"f:rules":{}}`), &managed); err != nil {
		t.Fatal(err)
	}
	got := importManifest(live, managed)
	want := jsonOf(t, `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role",
		"metadata":{"name":"r","namespace":"shop","labels":{"team":"a"}},
		"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}`)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("imported:\n%v\nwant:\n%v", got, want)
	}
}
