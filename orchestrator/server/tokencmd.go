package server

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
)

// NewTokenCommand is `slipway token`: join tokens on a server, through its admin
// kubeconfig, as bootstrap-token Secrets.
func NewTokenCommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke join tokens (on a server)"}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", config.DefaultPath, "the server's settings file")
	client := func() (kubernetes.Interface, *config.Config, string, error) {
		c := &config.Config{Role: config.RoleServer}
		if _, err := os.Stat(cfgPath); err == nil {
			if c, err = config.Load(cfgPath); err != nil {
				return nil, nil, "", err
			}
		}
		c.Defaults()
		raw, err := clientcmd.LoadFromFile(c.WriteKubeconfig)
		if err != nil {
			return nil, nil, "", fmt.Errorf("the admin kubeconfig (run this on a server): %w", err)
		}
		rc, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
		if err != nil {
			return nil, nil, "", err
		}
		hash, err := join.CAHashPEM(rc.CAData)
		if err != nil {
			return nil, nil, "", fmt.Errorf("the cluster CA in %s: %w", c.WriteKubeconfig, err)
		}
		cs, err := kubernetes.NewForConfig(rc)
		return cs, c, hash, err
	}

	var ttl time.Duration
	var description string
	create := &cobra.Command{
		Use: "create", Short: "Create a join token and print it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, _, hash, err := client()
			if err != nil {
				return err
			}
			t, err := join.Generate(hash)
			if err != nil {
				return err
			}
			s := bootstrapSecret(t, description)
			if ttl > 0 {
				s.StringData["expiration"] = time.Now().Add(ttl).UTC().Format(time.RFC3339)
			}
			if _, err := cs.CoreV1().Secrets("kube-system").Create(cmd.Context(), s, metav1.CreateOptions{FieldManager: "slipway"}); err != nil {
				return fmt.Errorf("create the token: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.String())
			return nil
		},
	}
	create.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token is valid; 0 for no expiry")
	create.Flags().StringVar(&description, "description", "created with slipway token create", "what the token is for")

	list := &cobra.Command{
		Use: "list", Short: "List join tokens (their IDs, never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, _, _, err := client()
			if err != nil {
				return err
			}
			secrets, err := cs.CoreV1().Secrets("kube-system").List(cmd.Context(), metav1.ListOptions{
				FieldSelector: fields.OneTermEqualSelector("type", string(corev1.SecretTypeBootstrapToken)).String(),
			})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tEXPIRES\tDESCRIPTION")
			for _, s := range secrets.Items {
				if string(s.Data["auth-extra-groups"]) != nodeBootstrapGroup {
					continue
				}
				exp := string(s.Data["expiration"])
				if exp == "" {
					exp = "never"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", s.Data["token-id"], exp, s.Data["description"])
			}
			return w.Flush()
		},
	}

	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a join token: nodes can no longer join with it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, c, _, err := client()
			if err != nil {
				return err
			}
			id := strings.TrimSpace(args[0])
			if b, err := os.ReadFile(TokenFile(c.DataDir)); err == nil {
				if own, err := join.Parse(string(b), false); err == nil && own.ID == id {
					return fmt.Errorf("%s is the cluster's own token (%s): servers register it again at start; revoke tokens made with `slipway token create`", id, TokenFile(c.DataDir))
				}
			}
			err = cs.CoreV1().Secrets("kube-system").Delete(cmd.Context(), "bootstrap-token-"+id, metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("no join token with ID %s", id)
			}
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", id)
			}
			return err
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
