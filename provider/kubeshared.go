package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
)

// idSchema is the computed id every workload resource has.
func idSchema(desc string) schema.StringAttribute {
	return schema.StringAttribute{
		Computed: true, MarkdownDescription: desc,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

// immutableSchema is the immutable flag of config maps and secrets.
func immutableSchema() schema.BoolAttribute {
	return schema.BoolAttribute{
		Optional:            true,
		MarkdownDescription: "When true, the data can no longer change: the API server refuses updates, so change it by replacing the object.",
	}
}

// readImmutable reads the flag when configured or importing; otherwise leaves it unset.
func readImmutable(live *bool, prior types.Bool, importing bool) types.Bool {
	if importing {
		if live == nil {
			return types.BoolNull()
		}
		return types.BoolValue(*live)
	}
	if prior.IsNull() {
		return prior
	}
	return types.BoolValue(live != nil && *live)
}

// metadataMaps returns the configured labels and annotations.
func metadataMaps(ctx context.Context, md *metadataModel) (map[string]string, map[string]string, diag.Diagnostics) {
	labels, diags := stringMap(ctx, md.Labels)
	annotations, d := stringMap(ctx, md.Annotations)
	diags.Append(d...)
	return labels, annotations, diags
}

// fillMetadata writes an object's name and managed metadata into the model.
func fillMetadata(md *metadataModel, obj *metav1.ObjectMeta, importing bool) {
	md.Name = types.StringValue(obj.Name)
	md.Labels, md.Annotations = readMetadataMaps(obj, *md, importing)
}

// fillNamespacedMetadata also writes the namespace.
func fillNamespacedMetadata(md *namespacedMetadataModel, obj *metav1.ObjectMeta, importing bool) {
	fillMetadata(&md.metadataModel, obj, importing)
	md.Namespace = types.StringValue(obj.Namespace)
}

// readMetadataMaps returns the labels and annotations to keep in state: on import all
// but the system's own, otherwise just the keys the configuration has, so additions
// by controllers never show as drift and a changed configured value does (case W6).
func readMetadataMaps(obj *metav1.ObjectMeta, prior metadataModel, importing bool) (types.Map, types.Map) {
	if importing {
		return mapValue(kube.ImportKeys(obj.Labels), prior.Labels), mapValue(kube.ImportKeys(obj.Annotations), prior.Annotations)
	}
	ctx := context.Background()
	wantL, _ := stringMap(ctx, prior.Labels)
	wantA, _ := stringMap(ctx, prior.Annotations)
	return mapValue(kube.SelectKeys(obj.Labels, wantL), prior.Labels), mapValue(kube.SelectKeys(obj.Annotations, wantA), prior.Annotations)
}

// waitGone polls get until it reports NotFound.
func waitGone(ctx context.Context, timeout time.Duration, get func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// splitImportID parses "namespace/name" (or "name", meaning the default namespace).
func splitImportID(id string) (namespace, name string, err error) {
	parts := strings.Split(id, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return "default", parts[0], nil
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return parts[0], parts[1], nil
	}
	return "", "", fmt.Errorf("import id %q: want namespace/name", id)
}

// importName sets metadata.name, and metadata.namespace for namespaced kinds, from an
// import id: "namespace/name" (or "name": the default namespace) for namespaced
// kinds, "name" otherwise. Read fills the rest.
func importName(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse, namespaced bool) {
	md := path.Root("metadata")
	name := req.ID
	if namespaced {
		ns, n, err := splitImportID(req.ID)
		if err != nil {
			resp.Diagnostics.AddError("Invalid Import ID", err.Error())
			return
		}
		name = n
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, md.AtName("namespace"), ns)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, md.AtName("name"), name)...)
}

// bytesMap decodes a map of base64 values.
func bytesMap(ctx context.Context, m types.Map) (map[string][]byte, diag.Diagnostics) {
	s, diags := stringMap(ctx, m)
	if s == nil || diags.HasError() {
		return nil, diags
	}
	out := make(map[string][]byte, len(s))
	for k, v := range s {
		b, err := decodeBase64(v)
		if err != nil {
			diags.AddError("Invalid Base64", fmt.Sprintf("value of %q: %v", k, err))
			continue
		}
		out[k] = b
	}
	return out, diags
}

// decodeBase64 accepts standard base64, wrapped over lines or not.
func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

// encodeBytesMap encodes binary values as the API server shows them.
func encodeBytesMap(m map[string][]byte) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = base64.StdEncoding.EncodeToString(v)
	}
	return out
}

// keepSpelling keeps the configuration's base64 text wherever it means the same
// bytes as the server's, so wrapping or padding never shows as a change.
func keepSpelling(live, want map[string]string) map[string]string {
	for k, v := range live {
		w, ok := want[k]
		if !ok || w == v {
			continue
		}
		a, errA := decodeBase64(w)
		b, errB := decodeBase64(v)
		if errA == nil && errB == nil && bytes.Equal(a, b) {
			live[k] = w
		}
	}
	return live
}
