package server

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/node"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/pki"
)

//go:embed addons/*.yaml
var addonFiles embed.FS

// addon is a set of objects a server keeps applied: a cluster component that runs
// as pods (DNS), with its image built on every node from the bundle.
type addon struct {
	name  string // also the `disable` name and the file addons/<name>.yaml
	image string // the system image it runs, "" for none
}

var addons = []addon{{name: "node-bootstrap"}, {name: "dns", image: "coredns"}, {name: "local-storage"}, {name: "metrics-server"}}

// addonValues are what the add-on templates see.
type addonValues struct {
	Image         string
	ClusterDNS    string
	ClusterDomain string
	// Forward is false when this host has no upstream name server a pod can reach
	// (only loopback ones): cluster DNS then answers for the cluster only.
	Forward bool
	// Where this server's metrics-server listens, and the CA that signed it (base64).
	NodeIP      string
	MetricsPort int
	CABundle    string
}

// renderAddon returns the add-on's objects with this server's settings.
func (l *layout) renderAddon(a addon, binDir string) ([]*unstructured.Unstructured, error) {
	src, err := addonFiles.ReadFile("addons/" + a.name + ".yaml")
	if err != nil {
		return nil, err
	}
	t, err := template.New(a.name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, err
	}
	v := addonValues{ClusterDNS: l.cfg.ClusterDNS, ClusterDomain: l.cfg.ClusterDomain, Forward: hasUpstreamNameserver("/etc/resolv.conf"),
		NodeIP: l.nodeIP.String(), MetricsPort: l.ports.MetricsServer}
	if a.name == "metrics-server" {
		ca, err := os.ReadFile(l.pki.Cert(pki.ClusterCA))
		if err != nil {
			return nil, err
		}
		v.CABundle = base64.StdEncoding.EncodeToString(ca)
	}
	if a.image != "" {
		if v.Image, err = node.ImageRef(binDir, a.image); err != nil {
			return nil, fmt.Errorf("%s image: %w", a.image, err)
		}
	}
	var out bytes.Buffer
	if err := t.Execute(&out, v); err != nil {
		return nil, err
	}
	return decodeObjects(out.Bytes())
}

// decodeObjects splits a multi-document YAML stream into objects.
func decodeObjects(b []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// hasUpstreamNameserver tells whether a resolv.conf names a server a pod can reach.
func hasUpstreamNameserver(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]); ip != nil && !ip.IsLoopback() {
				return true
			}
		}
	}
	return false
}

// applyAddons keeps the enabled add-ons applied (server-side apply, Slipway's field
// manager, so a later server version's change wins over an old one's), retrying
// until the API takes them.
func (l *layout) applyAddons(ctx context.Context, binDir string) {
	rc, err := clientcmd.BuildConfigFromFlags("", l.kubeconfig(pki.Admin))
	if err != nil {
		klog.Errorf("slipway: add-ons: %v", err)
		return
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		klog.Errorf("slipway: add-ons: %v", err)
		return
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		klog.Errorf("slipway: add-ons: %v", err)
		return
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		klog.Errorf("slipway: add-ons: %v", err)
		return
	}
	go approveServingCSRs(ctx, cs)
	if !l.cfg.Disabled("servicelb") {
		go runServiceLB(ctx, cs)
	}
	if !l.cfg.Disabled("local-storage") {
		if image, err := node.ImageRef(binDir, "volume-helper"); err != nil {
			klog.Errorf("slipway: local-path provisioner not started: %v", err)
		} else {
			go runLocalPath(ctx, cs, image)
		}
	}
	for ctx.Err() == nil {
		err := ensureBootstrapSecret(ctx, cs, l.token)
		if err == nil {
			break
		}
		klog.Warningf("slipway: join token not registered yet: %v", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	for _, a := range addons {
		if l.cfg.Disabled(a.name) {
			klog.Infof("slipway: add-on %s is disabled", a.name)
			continue
		}
		objs, err := l.renderAddon(a, binDir)
		if err != nil {
			klog.Errorf("slipway: add-on %s: %v", a.name, err)
			continue
		}
		for attempt := 0; ctx.Err() == nil; attempt++ {
			err := applyObjects(ctx, dyn, disc, objs)
			if err == nil {
				klog.Infof("slipway: add-on %s applied", a.name)
				break
			}
			if attempt%10 == 0 {
				klog.Warningf("slipway: add-on %s not applied yet: %v", a.name, err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}
}

func applyObjects(ctx context.Context, dyn dynamic.Interface, disc discovery.DiscoveryInterface, objs []*unstructured.Unstructured) error {
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s: %w", gvk.Kind, err)
		}
		body, err := o.MarshalJSON()
		if err != nil {
			return err
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if o.GetNamespace() != "" {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		force := true
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "slipway", Force: &force}); err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
		}
	}
	return nil
}
