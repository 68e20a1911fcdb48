package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/kubectl/pkg/drain"
)

// What the cluster and node resources do through the cluster's API: a stable
// credential for Terraform, Node readiness, labels and taints, drain.

const (
	terraformAccount = "slipway-terraform"
	terraformNS      = "kube-system"
)

// clientFromKubeconfig builds a clientset from a kubeconfig's bytes.
func clientFromKubeconfig(kc []byte) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return nil, fmt.Errorf("parse kubeconfig: %w", err)
	}
	cfg.Timeout = 30 * time.Second
	cfg.UserAgent = "terraform-provider-slipway"
	return kubernetes.NewForConfig(cfg)
}

// terraformToken makes (or finds) the service account Terraform's workload resources
// use, bound to cluster-admin, and returns its long-lived token. It does not change
// when the admin client certificate is rotated, so connections built on it are stable.
func terraformToken(ctx context.Context, cs *kubernetes.Clientset) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: terraformAccount, Namespace: terraformNS}}
	if _, err := cs.CoreV1().ServiceAccounts(terraformNS).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create service account %s/%s: %w", terraformNS, terraformAccount, err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: terraformAccount},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: terraformAccount, Namespace: terraformNS}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("bind %s to cluster-admin: %w", terraformAccount, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: terraformAccount + "-token", Namespace: terraformNS,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: terraformAccount}},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	if _, err := cs.CoreV1().Secrets(terraformNS).Create(ctx, secret, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create the token secret of %s: %w", terraformAccount, err)
	}
	// The controller-manager's token controller fills the secret.
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		s, err := cs.CoreV1().Secrets(terraformNS).Get(ctx, secret.Name, metav1.GetOptions{})
		if err == nil && len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
			return string(s.Data[corev1.ServiceAccountTokenKey]), nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	if last == nil {
		last = errors.New("the token controller did not fill it")
	}
	return "", fmt.Errorf("wait for the token of %s: %w", terraformAccount, last)
}

// nodeReady reports whether the Node exists and is Ready, with the reason when not.
func nodeReady(ctx context.Context, cs kubernetes.Interface, name string) (found, ready bool, why string, err error) {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, false, "not registered", nil
	}
	if err != nil {
		return false, false, "", err
	}
	if why := notReadyWhy(readyCondition(n)); why != "" {
		return true, false, why, nil
	}
	return true, true, "", nil
}

// readyCondition is the Node's Ready condition; nil before its kubelet reported one.
func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// notReadyWhy is "" for a Ready condition, else why the node is not Ready.
func notReadyWhy(c *corev1.NodeCondition) string {
	switch {
	case c == nil:
		return "no Ready condition yet"
	case c.Status == corev1.ConditionTrue:
		return ""
	}
	if why := strings.TrimSpace(c.Reason + " " + c.Message); why != "" {
		return why
	}
	return "Ready is " + string(c.Status)
}

// readyHeartbeat is the time of the Node's last Ready heartbeat, as its kubelet wrote it
// (zero when the Node or the condition is not there).
func readyHeartbeat(ctx context.Context, cs kubernetes.Interface, name string) time.Time {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return time.Time{}
	}
	if c := readyCondition(n); c != nil {
		return c.LastHeartbeatTime.Time
	}
	return time.Time{}
}

// waitNodeReady waits until the Node is Ready and schedulable again, or says why it is
// not. Ready alone can be stale: a kubelet stopped for less than the node monitor grace
// period still shows its last Ready. So after a (re)start of the service, the Ready
// condition counts only with a heartbeat later than before (both written by the same
// kubelet clock, so there is no skew). The node lifecycle controller's not-ready and
// unreachable taints must be gone too, or new pods avoid the node.
func waitNodeReady(ctx context.Context, cs kubernetes.Interface, name string, timeout time.Duration, beatBefore time.Time) error {
	deadline := time.Now().Add(timeout)
	for {
		why := nodeBack(ctx, cs, name, beatBefore)
		if why == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s did not become Ready within %s: %s", name, timeout, why)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// nodeBack is "" when the Node is Ready with a heartbeat after beatBefore and carries
// neither lifecycle taint; otherwise what it waits for.
func nodeBack(ctx context.Context, cs kubernetes.Interface, name string, beatBefore time.Time) string {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "not registered"
	}
	if err != nil {
		return err.Error()
	}
	c := readyCondition(n)
	if why := notReadyWhy(c); why != "" {
		return why
	}
	if !c.LastHeartbeatTime.After(beatBefore) {
		return "Ready from before the restart; no heartbeat from the new kubelet yet"
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return "Ready, but still tainted " + t.Key
		}
	}
	return ""
}

// applyNodeMeta gives the Node the labels and taints of the configuration. hadLabels and
// hadTaints are what the last apply set (null on create): only those are removed, so
// labels and taints others set stay. The kubelet applies node-label and node-taint only
// when it registers the node, so changes go through the API.
func applyNodeMeta(ctx context.Context, cs *kubernetes.Clientset, name string, hadLabels types.Map, hadTaints types.List,
	wantLabels types.Map, wantTaints []string) error {
	had, _ := stringMap(ctx, hadLabels)
	hadT, _ := taintStrings(ctx, hadTaints)
	want, _ := stringMap(ctx, wantLabels)
	return syncNodeMeta(ctx, cs, name, had, want, hadT, wantTaints)
}

func syncNodeMeta(ctx context.Context, cs *kubernetes.Clientset, name string, hadLabels, wantLabels map[string]string, hadTaints, wantTaints []string) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", name, err)
	}
	labels := map[string]any{}
	for k := range hadLabels {
		if _, keep := wantLabels[k]; !keep {
			if _, on := n.Labels[k]; on {
				labels[k] = nil
			}
		}
	}
	for k, v := range wantLabels {
		if n.Labels[k] != v {
			labels[k] = v
		}
	}
	want := map[string]corev1.Taint{}
	for _, s := range wantTaints {
		t := parseTaint(s)
		want[t.Key+":"+string(t.Effect)] = t
	}
	drop := map[string]bool{}
	for _, s := range hadTaints {
		t := parseTaint(s)
		drop[t.Key+":"+string(t.Effect)] = true
	}
	var taints []corev1.Taint
	seen := map[string]bool{}
	for _, t := range n.Spec.Taints {
		id := t.Key + ":" + string(t.Effect)
		if w, ok := want[id]; ok {
			taints = append(taints, w)
			seen[id] = true
			continue
		}
		if drop[id] {
			continue
		}
		taints = append(taints, t)
	}
	for _, s := range wantTaints {
		t := parseTaint(s)
		if !seen[t.Key+":"+string(t.Effect)] {
			taints = append(taints, t)
		}
	}
	if len(labels) == 0 && taintsEqual(taints, n.Spec.Taints) {
		return nil
	}
	patch := map[string]any{"metadata": map[string]any{"labels": labels}}
	if !taintsEqual(taints, n.Spec.Taints) {
		if taints == nil {
			taints = []corev1.Taint{}
		}
		patch["spec"] = map[string]any{"taints": taints}
	}
	b, _ := json.Marshal(patch)
	if _, err := cs.CoreV1().Nodes().Patch(ctx, name, k8stypes.MergePatchType, b, metav1.PatchOptions{FieldManager: "slipway"}); err != nil {
		return fmt.Errorf("set labels and taints of node %s: %w", name, err)
	}
	return nil
}

func parseTaint(s string) corev1.Taint {
	kv, effect, _ := strings.Cut(s, ":")
	k, v, _ := strings.Cut(kv, "=")
	return corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)}
}

func taintsEqual(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect {
			return false
		}
	}
	return true
}

// drainAndDelete cordons and drains a node (daemon sets' pods stay, emptyDir data
// goes) and deletes its Node object. A node already gone is fine.
func drainAndDelete(ctx context.Context, cs *kubernetes.Clientset, name string, timeout time.Duration, logf func(string, ...any)) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get node %s: %w", name, err)
	}
	h := &drain.Helper{
		Ctx: ctx, Client: cs, Force: true, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		GracePeriodSeconds: -1, Timeout: timeout, Out: logWriter{logf}, ErrOut: logWriter{logf},
	}
	if err := drain.RunCordonOrUncordon(h, n, true); err != nil {
		return fmt.Errorf("cordon node %s: %w", name, err)
	}
	if err := drain.RunNodeDrain(h, name); err != nil {
		return fmt.Errorf("drain node %s: %w", name, err)
	}
	if err := cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	return nil
}

type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	if w.logf != nil {
		w.logf("%s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// inputsConfigMap records, in the cluster, what the cluster resource was given that
// no host holds: the workstation paths of its bundles and images, its name and API
// endpoint. Import reads it back, so an imported cluster or node plans no change.
// (kubeadm keeps its ClusterConfiguration in a ConfigMap for the same reason.)
const inputsConfigMap = "slipway-terraform-inputs"

// clusterInputs is the ConfigMap's "inputs" key. Bundles and Images are the
// attributes as configured (nil when unset); JoinBundles and JoinImages are what
// nodes get in `join`, after the provider's defaults.
type clusterInputs struct {
	Name        string            `json:"name"`
	HostKey     string            `json:"hostKey,omitempty"` // the first server's, as in state
	APIEndpoint *string           `json:"apiEndpoint,omitempty"`
	Bundles     map[string]string `json:"bundles,omitempty"`
	Images      []string          `json:"images,omitempty"`
	ImagesSet   bool              `json:"imagesSet,omitempty"`
	JoinServer  string            `json:"joinServer"`
	JoinBundles map[string]string `json:"joinBundles"`
	JoinImages  []string          `json:"joinImages"`
}

func recordInputs(ctx context.Context, cs kubernetes.Interface, in clusterInputs) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: inputsConfigMap, Namespace: terraformNS,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "terraform-provider-slipway"}},
		Data: map[string]string{"inputs": string(b)}}
	_, err = cs.CoreV1().ConfigMaps(terraformNS).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cs.CoreV1().ConfigMaps(terraformNS).Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("record the cluster's inputs in %s/%s: %w", terraformNS, inputsConfigMap, err)
	}
	return nil
}

// readInputs reads what recordInputs wrote; nil, nil when the cluster has no record
// (installed by an older provider).
func readInputs(ctx context.Context, cs kubernetes.Interface) (*clusterInputs, error) {
	cm, err := cs.CoreV1().ConfigMaps(terraformNS).Get(ctx, inputsConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", terraformNS, inputsConfigMap, err)
	}
	var in clusterInputs
	if err := json.Unmarshal([]byte(cm.Data["inputs"]), &in); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", terraformNS, inputsConfigMap, err)
	}
	return &in, nil
}
