// Package kschema derives Terraform schemas from the k8s.io/api Go types and converts
// values both ways, so every field of a kind's spec is an attribute named as users
// know it (snake_case of its JSON name) without a line written by hand per field.
//
// Shapes: structs are nested attributes, slices of structs are lists of nested
// attributes, maps are maps. Quantities and int-or-string values are strings that
// compare by meaning. Every attribute is optional: the API server validates and
// defaults, and Read keeps only what the configuration sets.
package kschema

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

var (
	quantityType = reflect.TypeOf(resource.Quantity{})
	intOrString  = reflect.TypeOf(intstr.IntOrString{})
	timeType     = reflect.TypeOf(metav1.Time{})
	microTime    = reflect.TypeOf(metav1.MicroTime{})
	durationType = reflect.TypeOf(metav1.Duration{})
	objectMeta   = reflect.TypeOf(metav1.ObjectMeta{})
	bytesType    = reflect.TypeOf([]byte(nil))
)

// TemplateMeta is the metadata a template (a pod template in a deployment) can set.
type TemplateMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// EmbeddedMeta is the metadata of a whole object embedded in a spec (a stateful set's
// volume claim templates): it has a name too.
type EmbeddedMeta struct {
	Name        string            `json:"name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

var (
	templateMeta = reflect.TypeOf(TemplateMeta{})
	embeddedMeta = reflect.TypeOf(EmbeddedMeta{})
	typeMeta     = reflect.TypeOf(metav1.TypeMeta{})
)

// Field is one attribute of a struct: its Go field and names.
type Field struct {
	JSONName string
	Name     string // snake_case attribute name
	Type     reflect.Type
	MergeKey string // JSON name of the key that identifies a list's elements
	Doc      string // upstream's description of the field, from k8s.io/api
}

var (
	fieldsCache sync.Map // reflect.Type -> []Field
	tfTypeCache sync.Map // reflect.Type -> tftypes.Type
)

// Fields lists the attributes of struct type t: exported fields with a JSON name,
// without status and deprecated fields (by name or by upstream's description). Embedded (inline) structs are flattened;
// apiVersion and kind of embedded objects are left out (the kind is fixed).
func Fields(t reflect.Type) []Field {
	if v, ok := fieldsCache.Load(t); ok {
		return v.([]Field)
	}
	out := fields(t)
	fieldsCache.Store(t, out)
	return out
}

func fields(t reflect.Type) []Field {
	var out []Field
	doc := swaggerDoc(t)
	isObject := false
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous && f.Type == typeMeta {
			isObject = true
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" || f.Type == typeMeta {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			out = append(out, Fields(f.Type)...)
			continue
		}
		if name == "" || name == "status" || deprecated(f.Name, doc[name]) {
			continue
		}
		ft := f.Type
		if ft == objectMeta {
			ft = templateMeta
			if isObject {
				ft = embeddedMeta
			}
		}
		out = append(out, Field{JSONName: name, Name: SnakeCase(name), Type: ft, MergeKey: f.Tag.Get("patchMergeKey"), Doc: doc[name]})
	}
	return out
}

// deprecated reports fields upstream deprecates, by name or in their description
// (the in-tree volume plugins, a service's loadBalancerIP): they are left out.
func deprecated(goName, doc string) bool {
	return strings.HasPrefix(goName, "Deprecated") || strings.HasPrefix(doc, "Deprecated.") || strings.Contains(doc, "Deprecated:")
}

// swaggerDoc returns the field descriptions k8s.io/api generates for its types
// (their SwaggerDoc method), or nil.
func swaggerDoc(t reflect.Type) map[string]string {
	m := reflect.New(t).Elem().MethodByName("SwaggerDoc")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		return nil
	}
	doc, _ := m.Call(nil)[0].Interface().(map[string]string)
	return doc
}

// SnakeCase turns a JSON field name into an attribute name: "containerPort" ->
// "container_port", "hostIPC" -> "host_ipc", "podIPs" -> "pod_ips".
func SnakeCase(s string) string {
	for _, plural := range []string{"IPs", "CIDRs", "URLs", "IDs"} {
		s = strings.ReplaceAll(s, plural, plural[:1]+strings.ToLower(plural[1:]))
	}
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// isScalar reports types that are one string, number or bool attribute.
func isScalar(t reflect.Type) bool {
	switch t {
	case quantityType, intOrString, timeType, microTime, durationType, bytesType:
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func scalarAttrType(t reflect.Type) attr.Type {
	switch t {
	case quantityType, intOrString, timeType, microTime, durationType, bytesType:
		return types.StringType
	}
	switch t.Kind() {
	case reflect.Bool:
		return types.BoolType
	case reflect.Int, reflect.Int32, reflect.Int64:
		return types.Int64Type
	case reflect.Float32, reflect.Float64:
		return types.Float64Type
	}
	return types.StringType
}

// Attributes returns the schema attributes of struct type t.
func Attributes(t reflect.Type) map[string]schema.Attribute {
	return attributes(deref(t), map[reflect.Type]bool{})
}

func attributes(t reflect.Type, seen map[reflect.Type]bool) map[string]schema.Attribute {
	if seen[t] {
		panic(fmt.Sprintf("kschema: recursive type %s", t))
	}
	seen[t] = true
	defer delete(seen, t)
	out := map[string]schema.Attribute{}
	for _, f := range Fields(t) {
		out[f.Name] = withValidators(attribute(f, seen), fieldValidators[t][f.JSONName])
	}
	return out
}

// fieldValidators check, at plan time and without a cluster, the fields whose
// mistakes are most common: names and ports, by the API server's own rules. (With
// a cluster, the plan's dry run checks everything else.)
var fieldValidators = map[reflect.Type]map[string]any{
	reflect.TypeOf(corev1.Container{}):          {"name": validators.DNSLabel()},
	reflect.TypeOf(corev1.EphemeralContainer{}): {"name": validators.DNSLabel()},
	reflect.TypeOf(corev1.ContainerPort{}): {
		"containerPort": validators.Port(false), "hostPort": validators.Port(true), "name": validators.PortName(),
	},
	reflect.TypeOf(corev1.ServicePort{}): {
		"port": validators.Port(false), "nodePort": validators.Port(true), "name": validators.DNSLabel(),
		"targetPort": validators.PortNumberOrName(),
	},
	reflect.TypeOf(corev1.Volume{}):          {"name": validators.DNSLabel()},
	reflect.TypeOf(corev1.HTTPGetAction{}):   {"port": validators.PortNumberOrName()},
	reflect.TypeOf(corev1.TCPSocketAction{}): {"port": validators.PortNumberOrName()},
}

// withValidators adds v (a validator of the attribute's kind) to a.
func withValidators(a schema.Attribute, v any) schema.Attribute {
	switch x := a.(type) {
	case schema.StringAttribute:
		if sv, ok := v.(validator.String); ok {
			x.Validators = append(x.Validators, sv)
			return x
		}
	case schema.Int64Attribute:
		if iv, ok := v.(validator.Int64); ok {
			x.Validators = append(x.Validators, iv)
			return x
		}
	}
	if v != nil {
		panic(fmt.Sprintf("kschema: validator %T does not fit %T", v, a))
	}
	return a
}

func attribute(f Field, seen map[reflect.Type]bool) schema.Attribute {
	t := deref(f.Type)
	desc := fmt.Sprintf("Kubernetes field `%s`.", f.JSONName)
	if d := strings.TrimSpace(f.Doc); d != "" {
		if !strings.HasSuffix(d, ".") {
			d += "."
		}
		desc = d + " (Kubernetes field `" + f.JSONName + "`.)"
	}
	switch {
	case isScalar(t):
		switch scalarAttrType(t) {
		case types.BoolType:
			return schema.BoolAttribute{Optional: true, MarkdownDescription: desc}
		case types.Int64Type:
			return schema.Int64Attribute{Optional: true, MarkdownDescription: desc}
		case types.Float64Type:
			return schema.Float64Attribute{Optional: true, MarkdownDescription: desc}
		}
		switch t {
		case quantityType:
			desc += " A quantity such as `500m` or `1Gi`; equal quantities compare equal however spelled."
		case intOrString:
			desc += " A number or a name."
		}
		a := schema.StringAttribute{Optional: true, MarkdownDescription: desc}
		if t == quantityType {
			a.Validators = []validator.String{validators.Quantity()}
		}
		return a
	case t.Kind() == reflect.Struct:
		attrs := attributes(t, seen)
		return schema.SingleNestedAttribute{Optional: true, MarkdownDescription: desc, Attributes: attrs, CustomType: ObjectType(attrs)}
	case t.Kind() == reflect.Map:
		a := schema.MapAttribute{Optional: true, MarkdownDescription: desc, ElementType: elemAttrType(t.Elem(), seen)}
		if deref(t.Elem()) == quantityType {
			a.Validators = []validator.Map{validators.QuantityValues()}
		}
		return a
	case t.Kind() == reflect.Slice:
		e := deref(t.Elem())
		if e.Kind() == reflect.Struct && !isScalar(e) {
			if f.MergeKey != "" {
				desc += fmt.Sprintf(" Elements are identified by `%s`: removing or reordering one never changes another.", SnakeCase(f.MergeKey))
			}
			attrs := attributes(e, seen)
			obj := ObjectType(attrs)
			return schema.ListNestedAttribute{Optional: true, MarkdownDescription: desc, CustomType: types.ListType{ElemType: obj},
				NestedObject: schema.NestedAttributeObject{Attributes: attrs, CustomType: obj}}
		}
		return schema.ListAttribute{Optional: true, MarkdownDescription: desc, ElementType: elemAttrType(e, seen)}
	}
	panic(fmt.Sprintf("kschema: no attribute for %s (%s)", f.JSONName, t))
}

// ObjectType is the type of a nested object with attrs, computed once. The
// framework would otherwise rebuild a nested attribute's type from all of its
// descendants on every look-up (several per value in every request), which for a
// pod spec made a plan of a hundred deployments take minutes of CPU. The types are
// the framework's plain ones: values behave exactly as without them.
func ObjectType(attrs map[string]schema.Attribute) types.ObjectType {
	at := make(map[string]attr.Type, len(attrs))
	for name, a := range attrs {
		at[name] = a.GetType()
	}
	return types.ObjectType{AttrTypes: at}
}

// elemAttrType is the type of a map's or list's element.
func elemAttrType(t reflect.Type, seen map[reflect.Type]bool) attr.Type {
	t = deref(t)
	if isScalar(t) {
		return scalarAttrType(t)
	}
	switch t.Kind() {
	case reflect.Slice:
		return types.ListType{ElemType: elemAttrType(t.Elem(), seen)}
	case reflect.Map:
		return types.MapType{ElemType: elemAttrType(t.Elem(), seen)}
	case reflect.Struct:
		at := map[string]attr.Type{}
		for _, f := range Fields(t) {
			at[f.Name] = elemAttrType(f.Type, seen)
		}
		return types.ObjectType{AttrTypes: at}
	}
	panic(fmt.Sprintf("kschema: no element type for %s", t))
}

// TFType is the Terraform type of Go type t, matching the schema Attributes builds.
func TFType(t reflect.Type) tftypes.Type {
	t = deref(t)
	if v, ok := tfTypeCache.Load(t); ok {
		return v.(tftypes.Type)
	}
	typ := tfType(t)
	tfTypeCache.Store(t, typ)
	return typ
}

func tfType(t reflect.Type) tftypes.Type {
	if isScalar(t) {
		switch scalarAttrType(t) {
		case types.BoolType:
			return tftypes.Bool
		case types.Int64Type, types.Float64Type:
			return tftypes.Number
		}
		return tftypes.String
	}
	switch t.Kind() {
	case reflect.Struct:
		at := map[string]tftypes.Type{}
		for _, f := range Fields(t) {
			at[f.Name] = TFType(f.Type)
		}
		return tftypes.Object{AttributeTypes: at}
	case reflect.Map:
		return tftypes.Map{ElementType: TFType(t.Elem())}
	case reflect.Slice:
		return tftypes.List{ElementType: TFType(t.Elem())}
	}
	panic(fmt.Sprintf("kschema: no Terraform type for %s", t))
}
