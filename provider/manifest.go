package provider

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kschema"
)

// slipway_manifest's values are any Kubernetes object, without Go types to guide
// them: these functions convert between Terraform values and JSON, and read a live
// object back by what the configuration (or, on import, the managed fields) sets.

// fromTF converts a Terraform value (an HCL object, or yamldecode's result) to JSON
// form. Null attributes are left out.
func fromTF(v tftypes.Value) (any, error) {
	if !v.IsKnown() {
		return nil, fmt.Errorf("the value is not known yet")
	}
	if v.IsNull() {
		return nil, nil
	}
	t := v.Type()
	switch {
	case t.Is(tftypes.String):
		var s string
		err := v.As(&s)
		return s, err
	case t.Is(tftypes.Bool):
		var b bool
		err := v.As(&b)
		return b, err
	case t.Is(tftypes.Number):
		var n big.Float
		if err := v.As(&n); err != nil {
			return nil, err
		}
		if i, acc := n.Int64(); acc == big.Exact {
			return i, nil
		}
		f, _ := n.Float64()
		return f, nil
	case t.Is(tftypes.Object{}) || t.Is(tftypes.Map{}):
		var attrs map[string]tftypes.Value
		if err := v.As(&attrs); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(attrs))
		for k, a := range attrs {
			j, err := fromTF(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if j != nil {
				out[k] = j
			}
		}
		return out, nil
	case t.Is(tftypes.Tuple{}) || t.Is(tftypes.List{}) || t.Is(tftypes.Set{}):
		var elems []tftypes.Value
		if err := v.As(&elems); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(elems))
		for i, e := range elems {
			j, err := fromTF(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, j)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot convert a %s", t)
}

// toTF converts JSON to the Terraform value HCL would make of it: objects and
// tuples, so that it compares equal with the same object written in HCL.
func toTF(j any) tftypes.Value {
	switch x := j.(type) {
	case map[string]any:
		types := make(map[string]tftypes.Type, len(x))
		vals := make(map[string]tftypes.Value, len(x))
		for k, e := range x {
			if e == nil {
				continue
			}
			v := toTF(e)
			types[k], vals[k] = v.Type(), v
		}
		return tftypes.NewValue(tftypes.Object{AttributeTypes: types}, vals)
	case []any:
		types := make([]tftypes.Type, 0, len(x))
		vals := make([]tftypes.Value, 0, len(x))
		for _, e := range x {
			v := toTF(e)
			types, vals = append(types, v.Type()), append(vals, v)
		}
		return tftypes.NewValue(tftypes.Tuple{ElementTypes: types}, vals)
	case string:
		return tftypes.NewValue(tftypes.String, x)
	case bool:
		return tftypes.NewValue(tftypes.Bool, x)
	case int64:
		return tftypes.NewValue(tftypes.Number, new(big.Float).SetInt64(x))
	case int:
		return tftypes.NewValue(tftypes.Number, new(big.Float).SetInt64(int64(x)))
	case float64:
		return tftypes.NewValue(tftypes.Number, big.NewFloat(x))
	case nil:
		return tftypes.NewValue(tftypes.DynamicPseudoType, nil)
	}
	return tftypes.NewValue(tftypes.String, fmt.Sprint(j))
}

// projectManifest reads live back by want, the configuration: only the keys it
// sets, list elements with a name matched by name (others by position), and values
// equal by meaning (a quantity "1000m" and "1", a port 80 and "80") in want's
// spelling. So when nothing the configuration sets has changed, the result is want.
func projectManifest(live, want any) any {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return live
		}
		out := make(map[string]any, len(w))
		for k, wv := range w {
			if lv, ok := l[k]; ok {
				out[k] = projectManifest(lv, wv)
			}
		}
		return out
	case []any:
		l, ok := live.([]any)
		if !ok {
			return live
		}
		out := make([]any, 0, len(w))
		used := make([]bool, len(l))
		byName := allNamed(w)
		for i, wv := range w {
			j := -1
			if byName {
				name := wv.(map[string]any)["name"]
				for k, lv := range l {
					if m, ok := lv.(map[string]any); ok && !used[k] && m["name"] == name {
						j = k
						break
					}
				}
			} else if i < len(l) {
				j = i
			}
			if j < 0 {
				continue // gone from the server: the plan puts it back
			}
			used[j] = true
			out = append(out, projectManifest(l[j], wv))
		}
		if !byName {
			// Elements beyond the configuration's are a change too.
			out = append(out, l[min(len(w), len(l)):]...)
		}
		return out
	}
	if sameScalar(live, want) {
		return want
	}
	return live
}

func allNamed(l []any) bool {
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["name"].(string); !ok {
			return false
		}
	}
	return len(l) > 0
}

// sameScalar compares scalars by meaning: numbers by value, a number and its
// decimal text (int-or-string), quantities by value.
func sameScalar(live, want any) bool {
	if fmt.Sprint(live) == fmt.Sprint(want) {
		return true
	}
	ls, lok := live.(string)
	ws, wok := want.(string)
	if lok && wok {
		a, errA := resource.ParseQuantity(ls)
		b, errB := resource.ParseQuantity(ws)
		return errA == nil && errB == nil && a.Cmp(b) == 0
	}
	return false
}

// importManifest reads live back by the fields its users' managers own (managed),
// for import: apiVersion, kind, name and namespace, then what they set.
func importManifest(live map[string]any, managed kschema.Managed) map[string]any {
	out := map[string]any{"apiVersion": live["apiVersion"], "kind": live["kind"]}
	meta, _ := live["metadata"].(map[string]any)
	om := map[string]any{"name": meta["name"]}
	if ns, ok := meta["namespace"]; ok {
		om["namespace"] = ns
	}
	mm, _ := managed.Field("metadata")
	for _, f := range []string{"labels", "annotations"} {
		sub, ok := mm.Field(f)
		if v, has := meta[f]; ok && has {
			if p := ownedValue(v, sub); p != nil {
				om[f] = p
			}
		}
	}
	out["metadata"] = om
	keys := make([]string, 0, len(live))
	for k := range live {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		if sub, ok := managed.Field(k); ok {
			if p := ownedValue(live[k], sub); p != nil {
				out[k] = p
			}
		}
	}
	return out
}

// ownedValue is the part of v that the managed tree m names; all of it when m
// owns v whole.
func ownedValue(v any, m kschema.Managed) any {
	if m == nil || m.Atomic() {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if sub, ok := m.Field(k); ok {
				if p := ownedValue(e, sub); p != nil {
					out[k] = p
				}
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if !m.Keyed() {
			return x
		}
		var out []any
		for _, e := range x {
			em, _ := e.(map[string]any)
			if sub, ok := m.Element(em); ok {
				out = append(out, ownedValue(e, sub))
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}
