package server

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	cliflag "k8s.io/component-base/cli/flag"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	openapiutil "k8s.io/kube-openapi/pkg/util"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	cmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	cmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	msoptions "sigs.k8s.io/metrics-server/cmd/metrics-server/app/options"
)

// The upstream commands (NewAPIServerCommand and friends) install process-wide signal
// handlers that may be set up only once per process and ignore the context they are
// given. Slipway runs the same steps as their RunE functions, on its own context:
// parse the generated arguments into the component's options, complete and validate
// them, then call the component's Run.

var silenceWarnings sync.Once

// parseFlags parses args into a fresh flag set holding the component's named sets.
// Unknown flags are errors: a misspelt argument must not be silently ignored.
func parseFlags(name string, sets cliflag.NamedFlagSets, args []string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetNormalizeFunc(cliflag.WordSepNormalizeFunc)
	for _, n := range sets.Order {
		fs.AddFlagSet(sets.FlagSets[n])
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	return nil
}

func apiserverOptions(args []string) (*apiserveroptions.ServerRunOptions, error) {
	s := apiserveroptions.NewServerRunOptions()
	if err := parseFlags("kube-apiserver", s.Flags(), args); err != nil {
		return nil, err
	}
	return s, nil
}

func runAPIServer(ctx context.Context, args []string, ln net.Listener) error {
	silenceWarnings.Do(func() { rest.SetDefaultWarningHandler(rest.NoWarnings{}) })
	s, err := apiserverOptions(args)
	if err != nil {
		return err
	}
	s.SecureServing.Listener = ln
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return utilerrors.NewAggregate(errs)
	}
	return apiserverapp.Run(ctx, completed)
}

func controllerManagerOptions(args []string) (*cmoptions.KubeControllerManagerOptions, error) {
	s, err := cmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	sets := s.Flags(cmapp.KnownControllers(), cmapp.ControllersDisabledByDefault(), cmapp.ControllerAliases())
	s.ParsedFlags = &sets
	if err := parseFlags("kube-controller-manager", sets, args); err != nil {
		return nil, err
	}
	return s, nil
}

func runControllerManager(ctx context.Context, args []string) error {
	s, err := controllerManagerOptions(args)
	if err != nil {
		return err
	}
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	c, err := s.Config(ctx, cmapp.KnownControllers(), cmapp.ControllersDisabledByDefault(), cmapp.ControllerAliases())
	if err != nil {
		return err
	}
	return cmapp.Run(ctx, c.Complete())
}

func schedulerOptions(args []string) (*scheduleroptions.Options, error) {
	opts := scheduleroptions.NewOptions()
	if err := parseFlags("kube-scheduler", *opts.Flags, args); err != nil {
		return nil, err
	}
	return opts, nil
}

func runScheduler(ctx context.Context, args []string) error {
	opts, err := schedulerOptions(args)
	if err != nil {
		return err
	}
	if err := opts.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	name, err := cache.NewInformerName("kube-scheduler")
	if err != nil {
		return err
	}
	opts.InformerName = name
	cc, sched, err := schedulerapp.Setup(ctx, opts)
	if err != nil {
		return err
	}
	return schedulerapp.Run(ctx, cc, sched)
}

// runMetricsServer runs metrics-server (sigs.k8s.io/metrics-server) until ctx ends,
// the same steps as its command's RunE.
func runMetricsServer(ctx context.Context, args []string) error {
	o := msoptions.NewOptions()
	if err := parseFlags("metrics-server", o.Flags(), args); err != nil {
		return err
	}
	if errs := o.Validate(); len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	cfg, err := o.ServerConfig()
	if err != nil {
		return err
	}
	// metrics-server v0.8's generated OpenAPI definitions are keyed by Go path, while
	// this apiserver library looks models up by their REST-friendly names: offer both.
	if c := cfg.Apiserver.OpenAPIConfig; c != nil {
		c.GetDefinitions = withFriendlyNames(c.GetDefinitions)
	}
	if c := cfg.Apiserver.OpenAPIV3Config; c != nil {
		c.GetDefinitions = withFriendlyNames(c.GetDefinitions)
		if c.Definitions != nil { // computed already, from the Go-path keys
			c.Definitions = addFriendlyNames(c.Definitions)
		}
	}
	s, err := cfg.Complete()
	if err != nil {
		return err
	}
	return s.RunUntil(ctx.Done())
}

// withFriendlyNames adds each definition again under its REST-friendly name
// ("io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics").
func withFriendlyNames(get openapicommon.GetOpenAPIDefinitions) openapicommon.GetOpenAPIDefinitions {
	return func(ref openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition {
		return addFriendlyNames(get(ref))
	}
}

func addFriendlyNames(defs map[string]openapicommon.OpenAPIDefinition) map[string]openapicommon.OpenAPIDefinition {
	out := make(map[string]openapicommon.OpenAPIDefinition, 2*len(defs))
	for k, v := range defs {
		out[k] = v
		if n := openapiutil.ToRESTFriendlyName(k); n != k {
			if _, taken := defs[n]; !taken {
				out[n] = v
			}
		}
	}
	return out
}
