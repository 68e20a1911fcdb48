package kschema

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"containerPort": "container_port", "hostIPC": "host_ipc", "podIPs": "pod_ips",
		"clusterIP": "cluster_ip", "httpGet": "http_get", "terminationGracePeriodSeconds": "termination_grace_period_seconds",
		"ipFamilies": "ip_families", "externalIPs": "external_ips", "readOnlyRootFilesystem": "read_only_root_filesystem",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeploymentSchemaBuilds(t *testing.T) {
	attrs := Attributes(reflect.TypeOf(appsv1.DeploymentSpec{}))
	for _, name := range []string{"replicas", "selector", "template", "strategy"} {
		if _, ok := attrs[name]; !ok {
			t.Errorf("deployment spec lacks %s", name)
		}
	}
	if _, ok := attrs["status"]; ok {
		t.Error("status must not be an attribute")
	}
}

// A spec from the configuration goes to JSON and back unchanged, and server-side
// spellings and defaults do not leak into the projection.
func TestRoundTripWithServerDefaults(t *testing.T) {
	typ := reflect.TypeOf(corev1.PodSpec{})
	tf := TFType(typ)
	cfg := map[string]any{"containers": []any{map[string]any{
		"name": "web", "image": "nginx",
		"resources": map[string]any{"limits": map[string]any{"cpu": "1000m", "memory": "1.1Gi"}},
		"ports":     []any{map[string]any{"containerPort": int64(80), "name": "http"}},
	}}}
	prior := fromJSON(t, cfg, typ, tf)
	back, _, err := ToJSON(prior, typ)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := json.Marshal(back)
	b2, _ := json.Marshal(cfg)
	if string(b1) != string(b2) {
		t.Fatalf("round trip:\n%s\n%s", b1, b2)
	}

	// What the server returns: canonical quantities, defaults, another's sidecar.
	live := map[string]any{
		"restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
		"containers": []any{
			map[string]any{"name": "sidecar", "image": "envoy"},
			map[string]any{"name": "web", "image": "nginx", "imagePullPolicy": "Always",
				"resources": map[string]any{"limits": map[string]any{"cpu": "1", "memory": "1181116006400m"}},
				"ports":     []any{map[string]any{"containerPort": int64(80), "name": "http", "protocol": "TCP"}}},
		},
	}
	got, err := Project(live, prior, nil, false, typ)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(prior) {
		t.Fatalf("projection differs from the configuration:\n%s\n%s", got, prior)
	}

	// A real change shows.
	live["containers"].([]any)[1].(map[string]any)["image"] = "nginx:edited"
	got, _ = Project(live, prior, nil, false, typ)
	if got.Equal(prior) {
		t.Fatal("an edited image must show as a change")
	}
}

// fromJSON builds a Terraform value from JSON via Project in import mode with a
// managed tree that covers everything given.
func fromJSON(t *testing.T, j map[string]any, typ reflect.Type, tf tftypes.Type) tftypes.Value {
	t.Helper()
	v, err := Project(j, tftypes.NewValue(tf, nil), managedAll(j), true, typ)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func managedAll(j any) Managed {
	out := Managed{}
	switch v := j.(type) {
	case map[string]any:
		for k, e := range v {
			out["f:"+k] = map[string]any(managedAll(e))
		}
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				key := map[string]any{}
				for _, k := range []string{"name", "containerPort"} {
					if m[k] != nil {
						key[k] = m[k]
						break
					}
				}
				b, _ := json.Marshal(key)
				out["k:"+string(b)] = map[string]any(managedAll(e))
			}
		}
	}
	return out
}

// Import reads what users' managers own. An atomic field (a label selector, a node
// selector, tolerations) is owned whole, and its managed entry is an empty {}: all
// of it is read. Defaults and a controller's injected container are not.
func TestImportAtomicFields(t *testing.T) {
	typ := reflect.TypeOf(appsv1.DeploymentSpec{})
	var managed Managed
	if err := json.Unmarshal([]byte(`{
		"f:selector": {},
		"f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {
			"f:nodeSelector": {}, "f:tolerations": {},
			"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}`), &managed); err != nil {
		t.Fatal(err)
	}
	live := map[string]any{
		"replicas": int64(1), "revisionHistoryLimit": int64(10),
		"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
			"spec": map[string]any{
				"restartPolicy": "Always",
				"nodeSelector":  map[string]any{"disk": "ssd"},
				"tolerations":   []any{map[string]any{"key": "a", "operator": "Exists"}},
				"containers": []any{
					map[string]any{"name": "web", "image": "nginx", "imagePullPolicy": "Always"},
					map[string]any{"name": "injected", "image": "mesh-proxy"},
				},
			},
		},
	}
	got, err := Project(live, tftypes.NewValue(TFType(typ), nil), managed, true, typ)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := ToJSON(got, typ)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(back)
	want := `{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{` +
		`"containers":[{"image":"nginx","name":"web"}],"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"a","operator":"Exists"}]}}}`
	if string(b) != want {
		t.Fatalf("imported:\n%s\nwant:\n%s", b, want)
	}
}

// Ports are identified by port and protocol: port 53 over UDP and over TCP are two
// ports, whatever order the server lists them in.
func TestPortsMatchByPortAndProtocol(t *testing.T) {
	typ := reflect.TypeOf(corev1.ServiceSpec{})
	tf := TFType(typ)
	cfg := map[string]any{"ports": []any{
		map[string]any{"name": "dns-udp", "port": int64(53), "protocol": "UDP"},
		map[string]any{"name": "dns", "port": int64(53)},
	}}
	prior := fromJSON(t, cfg, typ, tf)
	live := map[string]any{"type": "ClusterIP", "clusterIP": "10.43.0.10", "ports": []any{
		map[string]any{"name": "dns", "port": int64(53), "protocol": "TCP", "targetPort": int64(53)},
		map[string]any{"name": "dns-udp", "port": int64(53), "protocol": "UDP", "targetPort": int64(53)},
	}}
	got, err := Project(live, prior, nil, false, typ)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(prior) {
		t.Fatalf("projection:\n%s\nwant:\n%s", got, prior)
	}
	// The UDP port gone from the server shows as a change, not as the TCP one.
	live["ports"] = live["ports"].([]any)[:1]
	got, _ = Project(live, prior, nil, false, typ)
	back, _, _ := ToJSON(got, typ)
	b, _ := json.Marshal(back)
	if want := `{"ports":[{"name":"dns","port":53}]}`; string(b) != want {
		t.Fatalf("after the UDP port went: %s, want %s", b, want)
	}
}

// Deprecated fields are left out; current ones stay, with upstream's description.
func TestDeprecatedFieldsLeftOut(t *testing.T) {
	vol := Attributes(reflect.TypeOf(corev1.Volume{}))
	for _, gone := range []string{"git_repo", "glusterfs", "rbd", "flocker"} {
		if _, ok := vol[gone]; ok {
			t.Errorf("deprecated volume source %s is an attribute", gone)
		}
	}
	for _, kept := range []string{"name", "nfs", "host_path", "config_map", "secret", "persistent_volume_claim", "csi", "empty_dir"} {
		if _, ok := vol[kept]; !ok {
			t.Errorf("volume lacks %s", kept)
		}
	}
	svc := Attributes(reflect.TypeOf(corev1.ServiceSpec{}))
	if _, ok := svc["load_balancer_ip"]; ok {
		t.Error("the deprecated load_balancer_ip is an attribute")
	}
	if d := svc["ports"].GetMarkdownDescription(); !strings.Contains(d, "exposed by this service") {
		t.Errorf("ports lacks upstream's description: %q", d)
	}
}

// Inside atomic fields the server's defaults look like the user's: import leaves
// the known ones out (a volume claim template's volumeMode).
func TestImportLeavesAtomicDefaultsOut(t *testing.T) {
	typ := reflect.TypeOf(appsv1.StatefulSetSpec{})
	var managed Managed
	if err := json.Unmarshal([]byte(`{"f:volumeClaimTemplates": {}}`), &managed); err != nil {
		t.Fatal(err)
	}
	live := map[string]any{"volumeClaimTemplates": []any{map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": "data"},
		"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "volumeMode": "Filesystem",
			"resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}},
		"status": map[string]any{"phase": "Pending"},
	}}}
	got, err := Project(live, tftypes.NewValue(TFType(typ), nil), managed, true, typ)
	if err != nil {
		t.Fatal(err)
	}
	back, _, _ := ToJSON(got, typ)
	b, _ := json.Marshal(back)
	want := `{"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}`
	if string(b) != want {
		t.Fatalf("imported %s, want %s", b, want)
	}
}

// The schema's types are computed once, stored on each nested attribute, and are
// the types Project builds values of.
func TestSchemaTypesCachedAndConsistent(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(appsv1.DeploymentSpec{}), reflect.TypeOf(corev1.PersistentVolumeSpec{})} {
		attrs := Attributes(typ)
		got := ObjectType(attrs).TerraformType(context.Background())
		if !got.Equal(TFType(typ)) {
			t.Errorf("%s: the schema's type and the values' type differ", typ)
		}
		tmpl, ok := attrs["template"].(schema.SingleNestedAttribute)
		if typ.Name() == "DeploymentSpec" && (!ok || tmpl.CustomType == nil) {
			t.Errorf("%s: nested attributes must carry their computed type", typ)
		}
	}
}
