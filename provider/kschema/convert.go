package kschema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ToJSON converts a Terraform value of Go type t to its JSON form, as an object
// for server-side apply. Null values are left out (ok false): Slipway applies only
// what the configuration sets.
func ToJSON(v tftypes.Value, t reflect.Type) (any, bool, error) {
	if v.IsNull() || !v.IsKnown() {
		return nil, false, nil
	}
	t = deref(t)
	if isScalar(t) {
		return scalarToJSON(v, t)
	}
	switch t.Kind() {
	case reflect.Struct:
		var attrs map[string]tftypes.Value
		if err := v.As(&attrs); err != nil {
			return nil, false, err
		}
		out := map[string]any{}
		for _, f := range Fields(t) {
			j, ok, err := ToJSON(attrs[f.Name], f.Type)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", f.Name, err)
			}
			if ok {
				out[f.JSONName] = j
			}
		}
		return out, true, nil
	case reflect.Map:
		var elems map[string]tftypes.Value
		if err := v.As(&elems); err != nil {
			return nil, false, err
		}
		out := map[string]any{}
		for k, e := range elems {
			j, ok, err := ToJSON(e, t.Elem())
			if err != nil {
				return nil, false, fmt.Errorf("[%q]: %w", k, err)
			}
			if ok {
				out[k] = j
			}
		}
		return out, true, nil
	case reflect.Slice:
		var elems []tftypes.Value
		if err := v.As(&elems); err != nil {
			return nil, false, err
		}
		out := make([]any, 0, len(elems))
		for i, e := range elems {
			j, ok, err := ToJSON(e, t.Elem())
			if err != nil {
				return nil, false, fmt.Errorf("[%d]: %w", i, err)
			}
			if !ok {
				j = map[string]any{}
			}
			out = append(out, j)
		}
		return out, true, nil
	}
	return nil, false, fmt.Errorf("cannot convert %s", t)
}

func scalarToJSON(v tftypes.Value, t reflect.Type) (any, bool, error) {
	switch {
	case v.Type().Is(tftypes.Bool):
		var b bool
		err := v.As(&b)
		return b, err == nil, err
	case v.Type().Is(tftypes.Number):
		var n big.Float
		if err := v.As(&n); err != nil {
			return nil, false, err
		}
		if t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64 {
			f, _ := n.Float64()
			return f, true, nil
		}
		i, acc := n.Int64()
		if acc != big.Exact {
			return nil, false, fmt.Errorf("%s is not a whole number", n.String())
		}
		return i, true, nil
	}
	var s string
	if err := v.As(&s); err != nil {
		return nil, false, err
	}
	if t == intOrString {
		if i, err := strconv.ParseInt(s, 10, 32); err == nil {
			return i, true, nil
		}
	}
	return s, true, nil
}

// Managed is a managed-fields tree (FieldsV1, decoded): which fields a manager set.
type Managed map[string]any

// ParseManaged decodes FieldsV1 JSON.
func ParseManaged(raw []byte) (Managed, error) {
	var m Managed
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Merge adds o's fields to m.
func (m Managed) Merge(o Managed) {
	for k, v := range o {
		sub, _ := v.(map[string]any)
		if cur, ok := m[k].(map[string]any); ok && sub != nil {
			Managed(cur).Merge(sub)
			continue
		}
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
}

func (m Managed) field(name string) (Managed, bool) {
	if m == nil {
		return nil, false
	}
	v, ok := m["f:"+name]
	if !ok {
		return nil, false
	}
	sub, _ := v.(map[string]any)
	return Managed(sub), true
}

// Field returns the tree of a field (JSON name) the manager set, if it set it.
func (m Managed) Field(name string) (Managed, bool) { return m.field(name) }

// Element returns the tree of the keyed list element matching elem, if any.
func (m Managed) Element(elem map[string]any) (Managed, bool) { return m.element(elem) }

// Atomic reports whether the tree owns its value whole: an empty entry ({}) for a
// struct, map or list that server-side apply treats as one value.
func (m Managed) Atomic() bool { return !m.hasChildren() }

// Keyed reports whether the tree names elements of a keyed list.
func (m Managed) Keyed() bool { return m.hasElements() }

// element finds the entry of a keyed list element whose key fields match elem.
func (m Managed) element(elem map[string]any) (Managed, bool) {
	for k, v := range m {
		key, ok := strings.CutPrefix(k, "k:")
		if !ok {
			continue
		}
		var want map[string]any
		if json.Unmarshal([]byte(key), &want) != nil {
			continue
		}
		match := true
		for kk, kv := range want {
			if fmt.Sprint(elem[kk]) != fmt.Sprint(kv) {
				match = false
				break
			}
		}
		if match {
			sub, _ := v.(map[string]any)
			return Managed(sub), true
		}
	}
	return nil, false
}

// Project writes the live object's value (JSON form, as the API server returns it)
// in Terraform form, keeping only what guides it: with a prior value (the state or
// plan), the fields and keys that prior sets, so what others own never shows as a
// change; with managed fields (import), the fields those managers set. Values equal
// by meaning keep the prior's spelling.
//
// On import a nil managed tree means "all of it": an atomic struct, map or list (a
// label selector, a node selector, tolerations) is owned whole by whoever set it,
// and its managed entry is an empty {}.
func Project(live any, prior tftypes.Value, managed Managed, importing bool, t reflect.Type) (tftypes.Value, error) {
	return project(live, prior, managed, importing, t, "")
}

// project is Project for a value whose list elements, if it is a list, are
// identified by mergeKey (the patchMergeKey of the field holding it).
func project(live any, prior tftypes.Value, managed Managed, importing bool, t reflect.Type, mergeKey string) (tftypes.Value, error) {
	typ := TFType(t)
	t = deref(t)
	if live == nil || (!importing && (prior.IsNull() || !prior.IsKnown())) {
		return tftypes.NewValue(typ, nil), nil
	}
	if importing && managed != nil && !managed.hasChildren() {
		managed = nil // atomic: the manager that set it owns all of it
	}
	if isScalar(t) {
		return projectScalar(live, prior, typ, t, importing)
	}
	switch t.Kind() {
	case reflect.Struct:
		lm, ok := live.(map[string]any)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("want an object, the server has %T", live)
		}
		var pa map[string]tftypes.Value
		if !importing {
			if err := prior.As(&pa); err != nil {
				return tftypes.Value{}, err
			}
		}
		attrs := map[string]tftypes.Value{}
		for _, f := range Fields(t) {
			ft := TFType(f.Type)
			var sub Managed
			if importing && managed != nil {
				var ok bool
				if sub, ok = managed.field(f.JSONName); !ok {
					attrs[f.Name] = tftypes.NewValue(ft, nil)
					continue
				}
				if sub == nil {
					sub = Managed{} // owned, and atomic below
				}
			}
			if importing && managed == nil && isAtomicDefault(t, f.JSONName, lm[f.JSONName]) {
				attrs[f.Name] = tftypes.NewValue(ft, nil)
				continue
			}
			p := pa[f.Name]
			if p.Type() == nil {
				p = tftypes.NewValue(ft, nil)
			}
			v, err := project(lm[f.JSONName], p, sub, importing, f.Type, f.MergeKey)
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("%s: %w", f.Name, err)
			}
			attrs[f.Name] = v
		}
		return tftypes.NewValue(typ, attrs), nil
	case reflect.Map:
		return projectMap(live, prior, managed, importing, t, typ)
	case reflect.Slice:
		return projectList(live, prior, managed, importing, t, typ, mergeKey)
	}
	return tftypes.Value{}, fmt.Errorf("cannot project %s", t)
}

// atomicDefaults are values the API server fills in inside atomic fields, where
// managed fields cannot tell them from what the user set: import leaves them out,
// so a configuration that leaves them out too plans nothing. (One that spells the
// default out plans it once, harmlessly.)
var atomicDefaults = map[reflect.Type]map[string]any{
	// A stateful set's volume claim templates.
	reflect.TypeOf(corev1.PersistentVolumeClaimSpec{}): {"volumeMode": "Filesystem"},
}

func isAtomicDefault(t reflect.Type, jsonName string, live any) bool {
	d, ok := atomicDefaults[t][jsonName]
	return ok && live == d
}

// hasChildren reports whether the tree names any field, key or element below it.
func (m Managed) hasChildren() bool {
	for k := range m {
		if k != "." {
			return true
		}
	}
	return false
}

func projectMap(live any, prior tftypes.Value, managed Managed, importing bool, t reflect.Type, typ tftypes.Type) (tftypes.Value, error) {
	lm, ok := live.(map[string]any)
	if !ok {
		return tftypes.Value{}, fmt.Errorf("want a map, the server has %T", live)
	}
	var pe map[string]tftypes.Value
	if !importing {
		if err := prior.As(&pe); err != nil {
			return tftypes.Value{}, err
		}
	}
	et := typ.(tftypes.Map).ElementType
	out := map[string]tftypes.Value{}
	for k, lv := range lm {
		var sub Managed
		p, want := pe[k]
		if importing {
			want = true
			if managed != nil {
				sub, want = managed.field(k)
				if want && sub == nil {
					sub = Managed{}
				}
			}
			p = tftypes.NewValue(et, nil)
		}
		if !want {
			continue
		}
		v, err := Project(lv, p, sub, importing, t.Elem())
		if err != nil {
			return tftypes.Value{}, fmt.Errorf("[%q]: %w", k, err)
		}
		out[k] = v
	}
	if len(out) == 0 && (importing || len(pe) > 0) {
		// Nothing the configuration sets is left: show it as unset, so the plan
		// puts it back.
		return tftypes.NewValue(typ, nil), nil
	}
	return tftypes.NewValue(typ, out), nil
}

func projectList(live any, prior tftypes.Value, managed Managed, importing bool, t reflect.Type, typ tftypes.Type, mergeKey string) (tftypes.Value, error) {
	ll, ok := live.([]any)
	if !ok {
		return tftypes.Value{}, fmt.Errorf("want a list, the server has %T", live)
	}
	et := typ.(tftypes.List).ElementType
	e := deref(t.Elem())
	structs := e.Kind() == reflect.Struct && !isScalar(e)
	var out []tftypes.Value
	if importing {
		keyed := structs && managed != nil && managed.hasElements()
		for i, lv := range ll {
			var sub Managed
			if keyed {
				lm, _ := lv.(map[string]any)
				var ok bool
				if sub, ok = managed.element(lm); !ok {
					continue // an element someone else's (a controller's)
				}
				if sub == nil {
					sub = Managed{}
				}
			}
			v, err := Project(lv, tftypes.NewValue(et, nil), sub, true, t.Elem())
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, v)
		}
		if len(out) == 0 {
			return tftypes.NewValue(typ, nil), nil
		}
		return tftypes.NewValue(typ, out), nil
	}
	var pl []tftypes.Value
	if err := prior.As(&pl); err != nil {
		return tftypes.Value{}, err
	}
	used := make([]bool, len(ll))
	for i, p := range pl {
		j := -1
		if mergeKey != "" {
			j = findByKey(ll, used, p, mergeKey, e)
		} else if i < len(ll) {
			j = i
		}
		if j < 0 {
			continue // gone from the server: the plan adds it back
		}
		used[j] = true
		v, err := Project(ll[j], p, nil, false, t.Elem())
		if err != nil {
			return tftypes.Value{}, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, v)
	}
	if !structs {
		// An atomic list of values (args, command, ...) is wholly the
		// configuration's: extra elements on the server are a change too.
		for j := len(pl); j < len(ll); j++ {
			v, err := Project(ll[j], tftypes.NewValue(et, nil), nil, true, t.Elem())
			if err != nil {
				return tftypes.Value{}, err
			}
			out = append(out, v)
		}
	}
	return tftypes.NewValue(typ, out), nil
}

func (m Managed) hasElements() bool {
	for k := range m {
		if strings.HasPrefix(k, "k:") {
			return true
		}
	}
	return false
}

// findByKey returns the index of the unused live element with the prior's key. A
// protocol, where the element has one, is part of the identity (a port 53 over
// TCP and over UDP are two ports), with the API server's default TCP when unset.
func findByKey(ll []any, used []bool, p tftypes.Value, key string, e reflect.Type) int {
	var pa map[string]tftypes.Value
	if p.IsNull() || p.As(&pa) != nil {
		return -1
	}
	want := pa[SnakeCase(key)]
	if want.IsNull() || !want.IsKnown() {
		return -1
	}
	wj, _, _ := ToJSON(want, fieldType(e, key))
	wantProto, hasProto := "", false
	if pv, ok := pa["protocol"]; ok && key != "protocol" {
		hasProto, wantProto = true, "TCP"
		var s string
		if pv.IsKnown() && !pv.IsNull() && pv.As(&s) == nil {
			wantProto = s
		}
	}
	for j, lv := range ll {
		if used[j] {
			continue
		}
		lm, ok := lv.(map[string]any)
		if !ok || fmt.Sprint(lm[key]) != fmt.Sprint(wj) {
			continue
		}
		if hasProto {
			if got, _ := lm["protocol"].(string); got != "" && got != wantProto {
				continue
			}
		}
		return j
	}
	return -1
}

func fieldType(t reflect.Type, jsonName string) reflect.Type {
	for _, f := range Fields(t) {
		if f.JSONName == jsonName {
			return f.Type
		}
	}
	return reflect.TypeOf("")
}

func projectScalar(live any, prior tftypes.Value, typ tftypes.Type, t reflect.Type, importing bool) (tftypes.Value, error) {
	switch {
	case typ.Is(tftypes.Bool):
		b, ok := live.(bool)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("want a bool, the server has %T", live)
		}
		return tftypes.NewValue(typ, b), nil
	case typ.Is(tftypes.Number):
		switch n := live.(type) {
		case int64:
			return tftypes.NewValue(typ, new(big.Float).SetInt64(n)), nil
		case float64:
			return tftypes.NewValue(typ, big.NewFloat(n)), nil
		case json.Number:
			f, _, err := big.ParseFloat(n.String(), 10, 512, big.ToNearestEven)
			if err != nil {
				return tftypes.Value{}, err
			}
			return tftypes.NewValue(typ, f), nil
		}
		return tftypes.Value{}, fmt.Errorf("want a number, the server has %T", live)
	}
	s := fmt.Sprint(live)
	if !importing && prior.IsKnown() && !prior.IsNull() {
		var ps string
		if prior.As(&ps) == nil && sameMeaning(ps, s, t) {
			s = ps
		}
	}
	return tftypes.NewValue(typ, s), nil
}

// sameMeaning compares the configuration's spelling with the server's: quantities
// by value ("1000m" is "1"), int-or-string by text.
func sameMeaning(config, server string, t reflect.Type) bool {
	if config == server {
		return true
	}
	if t == quantityType {
		a, errA := resource.ParseQuantity(config)
		b, errB := resource.ParseQuantity(server)
		return errA == nil && errB == nil && a.Cmp(b) == 0
	}
	return false
}
