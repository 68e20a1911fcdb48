// Package validators checks Kubernetes names, labels, quantities and ports at plan time, with
// the API server's own rules (k8s.io/apimachinery), so bad input never reaches apply.
package validators

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

type stringCheck struct {
	desc  string
	check func(string) []string
}

func (v stringCheck) Description(context.Context) string             { return v.desc }
func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.desc }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if errs := v.check(req.ConfigValue.ValueString()); len(errs) > 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Value",
			fmt.Sprintf("%q is not %s: %s", req.ConfigValue.ValueString(), v.desc, strings.Join(errs, "; ")))
	}
}

// DNSLabel accepts names such as namespaces: lowercase, at most 63 characters.
func DNSLabel() validator.String {
	return stringCheck{"a valid DNS-1123 label", validation.IsDNS1123Label}
}

// DNSSubdomain accepts names of most objects (config maps, secrets, deployments).
func DNSSubdomain() validator.String {
	return stringCheck{"a valid DNS-1123 subdomain", validation.IsDNS1123Subdomain}
}

type mapCheck struct {
	desc  string
	key   func(string) []string
	value func(string) []string
}

func (v mapCheck) Description(context.Context) string             { return v.desc }
func (v mapCheck) MarkdownDescription(ctx context.Context) string { return v.desc }

func (v mapCheck) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, e := range req.ConfigValue.Elements() {
		var errs []string
		if v.key != nil {
			errs = append(errs, v.key(k)...)
		}
		if s, ok := e.(types.String); ok && v.value != nil && !s.IsUnknown() && !s.IsNull() {
			errs = append(errs, v.value(s.ValueString())...)
		}
		if len(errs) > 0 {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid Value",
				fmt.Sprintf("%q: %s", k, strings.Join(errs, "; ")))
		}
	}
}

// DataKeys checks config map and secret keys: letters, digits, '-', '_' and '.'.
func DataKeys() validator.Map {
	return mapCheck{desc: "keys must be valid config map keys", key: validation.IsConfigMapKey}
}

// Base64Values checks that every value is standard base64 (line wrapping allowed).
func Base64Values() validator.Map {
	return mapCheck{desc: "values must be base64", value: func(s string) []string {
		if _, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err != nil {
			return []string{"not valid base64: " + err.Error()}
		}
		return nil
	}}
}

// Labels checks label keys (qualified names) and values.
func Labels() validator.Map {
	return mapCheck{desc: "label keys must be qualified names and values valid label values",
		key: validation.IsQualifiedName, value: validation.IsValidLabelValue}
}

// Annotations checks annotation keys.
func Annotations() validator.Map {
	return mapCheck{desc: "annotation keys must be qualified names", key: validation.IsQualifiedName}
}

func quantity(s string) []string {
	if _, err := resource.ParseQuantity(s); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// Quantity accepts Kubernetes quantities such as 500m, 1.5, 1Gi.
func Quantity() validator.String {
	return stringCheck{"a Kubernetes quantity (such as 500m or 1Gi)", quantity}
}

// QuantityValues accepts maps of quantities, such as a container's requests.
func QuantityValues() validator.Map {
	return mapCheck{desc: "a map of Kubernetes quantities", value: quantity}
}

// Duration accepts Go durations such as 90s or 10m.
func Duration() validator.String {
	return stringCheck{"a duration such as 90s or 10m", func(s string) []string {
		if d, err := time.ParseDuration(s); err != nil {
			return []string{err.Error()}
		} else if d <= 0 {
			return []string{"must be positive"}
		}
		return nil
	}}
}

type int64Check struct {
	desc  string
	check func(int64) []string
}

func (v int64Check) Description(context.Context) string             { return v.desc }
func (v int64Check) MarkdownDescription(ctx context.Context) string { return v.desc }

func (v int64Check) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if errs := v.check(req.ConfigValue.ValueInt64()); len(errs) > 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Value",
			fmt.Sprintf("%d is not %s: %s", req.ConfigValue.ValueInt64(), v.desc, strings.Join(errs, "; ")))
	}
}

func portNumber(n int64) []string {
	if n > 65535 || n < 1 {
		return validation.IsValidPortNum(-1)
	}
	return nil
}

// Port accepts port numbers, 1 to 65535; with zero, also 0 (none, or "choose one").
func Port(zero bool) validator.Int64 {
	if zero {
		return int64Check{"a port number (0 to 65535)", func(n int64) []string {
			if n == 0 {
				return nil
			}
			return portNumber(n)
		}}
	}
	return int64Check{"a port number (1 to 65535)", portNumber}
}

// PortName accepts the names of container ports (IANA service names: at most 15
// characters, lowercase letters, digits and dashes, with a letter).
func PortName() validator.String {
	return stringCheck{"a valid port name", validation.IsValidPortName}
}

// PortNumberOrName accepts a port number (1 to 65535) or a port's name, as a
// target port or a probe's port.
func PortNumberOrName() validator.String {
	return stringCheck{"a port number (1 to 65535) or a port name", func(s string) []string {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return portNumber(n)
		}
		return validation.IsValidPortName(s)
	}}
}
