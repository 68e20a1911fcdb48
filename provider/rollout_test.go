package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// Unit tests of the rollout waits against a fake clientset: the test control plane
// has no kubelet, so pods there never start and never fail the way real ones do.

func init() { pollInterval = 10 * time.Millisecond }

func int32p(n int32) *int32 { return &n }

// rolloutFixture is a deployment at generation 2 whose newest replica set has one
// pod, with the status the test gives.
func rolloutFixture(observed int64, status appsv1.DeploymentStatus, pod corev1.PodStatus) []runtime.Object {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "default", UID: types.UID("d-uid"), Generation: 2,
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"},
		},
		Spec: appsv1.DeploymentSpec{Replicas: int32p(1), Selector: sel},
	}
	status.ObservedGeneration = observed
	d.Status = status
	ctrl := true
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: d.UID, Controller: &ctrl}}
	oldRS := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Name: "web-old", Namespace: "default", OwnerReferences: owner,
		Labels:      map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: "old"},
		Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"},
	}}
	newRS := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Name: "web-new", Namespace: "default", OwnerReferences: owner,
		Labels:      map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: "new"},
		Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"},
	}}
	oldPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-old-1", Namespace: "default",
			Labels: map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: "old"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	newPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-new-1", Namespace: "default",
			Labels: map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: "new"}},
		Status: pod,
	}
	return []runtime.Object{d, oldRS, newRS, oldPod, newPod}
}

func waiting(reason, msg string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
	}}}
}

// halfway is a status of generation 2 whose new pod is not available yet.
var halfway = appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1}

// W4: a pod of the new replica set that cannot pull its image, or crash-loops, ends
// the wait at once with the reason, long before the timeout.
func TestCase_FailedRolloutRetries_FailsFast(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  corev1.PodStatus
		want []string
	}{
		{"image pull", waiting("ImagePullBackOff", `Back-off pulling image "nginx:nope"`), []string{"ImagePullBackOff", "nginx:nope", "web-new-1"}},
		{"crash loop", func() corev1.PodStatus {
			s := waiting("CrashLoopBackOff", "")
			s.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}
			return s
		}(), []string{"CrashLoopBackOff", "exit code 3"}},
		{"unschedulable", corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message:            "0/3 nodes are available: 3 Insufficient cpu.",
			LastTransitionTime: metav1.NewTime(time.Now().Add(-time.Minute)),
		}}}, []string{"unschedulable", "Insufficient cpu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(rolloutFixture(2, halfway, tc.pod)...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := deploymentRollout(ctx, cs, "default", "web")
			if err == nil {
				t.Fatal("the rollout must fail")
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("failed only after %s; a certain failure must end the wait at once", time.Since(start))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// A failing pod of the old replica set is not the new rollout's failure, and a pod
// unschedulable for a moment (a node joining) is not certain yet.
func TestRolloutIgnoresOldPodsAndBriefUnschedulable(t *testing.T) {
	objs := rolloutFixture(2, halfway, corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		LastTransitionTime: metav1.NewTime(time.Now()),
	}}})
	objs[3].(*corev1.Pod).Status = waiting("CrashLoopBackOff", "old one")
	cs := fake.NewClientset(objs...)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := deploymentRollout(ctx, cs, "default", "web")
	if err == nil || !strings.Contains(err.Error(), "timed out waiting: 1 old replicas pending termination") {
		t.Fatalf("want a timeout naming what it waited for, got %v", err)
	}
}

// W4: a status whose observedGeneration is behind the generation never counts as
// rolled out, however complete it looks, and the old generation's pod failures are
// not read as the new one's.
func TestCase_FailedRolloutRetries_ObservedGenerationBehind(t *testing.T) {
	complete := appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1, ReadyReplicas: 1}
	if done, _ := deploymentDone(&appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Generation: 2},
		Spec:       appsv1.DeploymentSpec{Replicas: int32p(1)},
		Status:     func() appsv1.DeploymentStatus { s := complete; s.ObservedGeneration = 1; return s }(),
	}); done {
		t.Fatal("observedGeneration 1 of generation 2 counted as rolled out")
	}
	cs := fake.NewClientset(rolloutFixture(1, complete, waiting("ImagePullBackOff", "stale"))...)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := deploymentRollout(ctx, cs, "default", "web")
	if err == nil || !strings.Contains(err.Error(), "has not seen generation 2") {
		t.Fatalf("want a timeout waiting for the controller, got %v", err)
	}

	// Once the controller catches up with a complete status, the wait ends.
	cs = fake.NewClientset(rolloutFixture(2, complete, corev1.PodStatus{Phase: corev1.PodRunning})...)
	if err := deploymentRollout(context.Background(), cs, "default", "web"); err != nil {
		t.Fatalf("a complete rollout: %v", err)
	}
}

// The controller's own verdicts end the wait: progress deadline, replica failure.
func TestRolloutControllerVerdicts(t *testing.T) {
	for reason, cond := range map[string]appsv1.DeploymentCondition{
		"ProgressDeadlineExceeded": {Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "took too long"},
		"FailedCreate":             {Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "exceeded quota"},
	} {
		s := halfway
		s.Conditions = []appsv1.DeploymentCondition{cond}
		cs := fake.NewClientset(rolloutFixture(2, s, corev1.PodStatus{Phase: corev1.PodPending})...)
		err := deploymentRollout(context.Background(), cs, "default", "web")
		if err == nil || !strings.Contains(err.Error(), cond.Message) {
			t.Errorf("%s: got %v", reason, err)
		}
	}
}

func TestStatefulSetDone(t *testing.T) {
	base := appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Generation: 3},
		Spec:       appsv1.StatefulSetSpec{Replicas: int32p(2)},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, ReadyReplicas: 2, UpdatedReplicas: 2,
			CurrentRevision: "r2", UpdateRevision: "r2"},
	}
	if done, why := statefulSetDone(&base); !done {
		t.Fatalf("complete stateful set: %s", why)
	}
	behind := base
	behind.Status.ObservedGeneration = 2
	if done, _ := statefulSetDone(&behind); done {
		t.Error("observedGeneration behind counted as rolled out")
	}
	mid := base
	mid.Status.CurrentRevision = "r1"
	if done, _ := statefulSetDone(&mid); done {
		t.Error("revisions differ, yet counted as rolled out")
	}
	part := mid
	part.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: int32p(1)}
	part.Status.UpdatedReplicas = 1
	if done, why := statefulSetDone(&part); !done {
		t.Errorf("partitioned rollout with the replicas above the partition updated: %s", why)
	}
}

// A claim waits for binding, except when its class binds on first use: then the
// wait ends at once without an outcome, so an apply that creates the pod after the
// claim never deadlocks.
func TestClaimBinding(t *testing.T) {
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	immediate := storagev1.VolumeBindingImmediate
	classes := []runtime.Object{
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local",
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, VolumeBindingMode: &wffc},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, VolumeBindingMode: &immediate},
	}
	claim := func(class *string, phase corev1.PersistentVolumeClaimPhase) runtime.Object {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
			Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: class, VolumeName: "pv-1"},
			Status:     corev1.PersistentVolumeClaimStatus{Phase: phase},
		}
	}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name  string
		claim runtime.Object
		want  string // "" done, "skip" errNotWaited, else part of the error
	}{
		{"bound", claim(str("fast"), corev1.ClaimBound), ""},
		{"default class binds on first use", claim(nil, corev1.ClaimPending), "skip"},
		{"named class binds on first use", claim(str("local"), corev1.ClaimPending), "skip"},
		{"immediate class pending", claim(str("fast"), corev1.ClaimPending), "timed out waiting: claim Pending"},
		{"no class pending", claim(str(""), corev1.ClaimPending), "timed out waiting: claim Pending"},
		{"lost", claim(str("fast"), corev1.ClaimLost), "lost its volume pv-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(append([]runtime.Object{tc.claim}, classes...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := claimBinding(ctx, cs, "default", "data")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want bound, got %v", err)
			case tc.want == "skip" && !errors.Is(err, errNotWaited):
				t.Fatalf("want no wait, got %v", err)
			case tc.want != "" && tc.want != "skip" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestDaemonSetRollout(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default", UID: "ds-uid", Generation: 2},
		Spec:       appsv1.DaemonSetSpec{Selector: sel},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 3,
			UpdatedNumberScheduled: 1, NumberAvailable: 2},
	}
	ctrl := true
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: ds.UID, Controller: &ctrl}}
	rev := func(name, hash string, n int64) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", OwnerReferences: owner,
			Labels: map[string]string{"app": "agent", appsv1.ControllerRevisionHashLabelKey: hash}}, Revision: n}
	}
	pod := func(name, hash string, s corev1.PodStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels: map[string]string{"app": "agent", appsv1.ControllerRevisionHashLabelKey: hash}}, Status: s}
	}
	// The newest revision's pod cannot pull its image; the old one's crash loop is old news.
	cs := fake.NewClientset(ds, rev("agent-1", "h1", 1), rev("agent-2", "h2", 2),
		pod("agent-old", "h1", waiting("CrashLoopBackOff", "old")),
		pod("agent-new", "h2", waiting("ImagePullBackOff", `Back-off pulling image "agent:nope"`)))
	err := daemonSetRollout(context.Background(), cs, "default", "agent")
	if err == nil || !strings.Contains(err.Error(), "agent-new") || !strings.Contains(err.Error(), "ImagePullBackOff") {
		t.Fatalf("want the new pod's image pull error, got %v", err)
	}

	behind := ds.DeepCopy()
	behind.Status = appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 3}
	if done, _ := daemonSetDone(behind); done {
		t.Error("observedGeneration behind counted as rolled out")
	}
	complete := ds.DeepCopy()
	complete.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 3}
	if err := daemonSetRollout(context.Background(), fake.NewClientset(complete), "default", "agent"); err != nil {
		t.Errorf("complete rollout: %v", err)
	}
	onDelete := ds.DeepCopy()
	onDelete.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
	if err := daemonSetRollout(context.Background(), fake.NewClientset(onDelete), "default", "agent"); !errors.Is(err, errNotWaited) {
		t.Errorf("OnDelete: want no wait, got %v", err)
	}
}

func TestJobCompletion(t *testing.T) {
	job := func(conds []batchv1.JobCondition, active int32) *batchv1.Job {
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "default", UID: "job-uid"},
			Spec: batchv1.JobSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
				batchv1.ControllerUidLabel: "job-uid"}}},
			Status: batchv1.JobStatus{Conditions: conds, Active: active},
		}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "migrate-x", Namespace: "default",
		Labels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}}, Status: waiting("ErrImageNeverPull", "never pull")}
	for _, tc := range []struct {
		name string
		objs []runtime.Object
		want string // "" completes
	}{
		{"complete", []runtime.Object{job([]batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}, 0)}, ""},
		{"failed", []runtime.Object{job([]batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
			Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}, 0)}, "BackoffLimitExceeded"},
		{"pod cannot start", []runtime.Object{job(nil, 1), pod}, "ErrImageNeverPull"},
		{"running", []runtime.Object{job(nil, 1)}, "timed out waiting: 0 succeeded, 1 active"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := jobCompletion(ctx, fake.NewClientset(tc.objs...), "default", "migrate")
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}

func TestPodReady(t *testing.T) {
	pod := func(s corev1.PodStatus) runtime.Object {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Status: s}
	}
	ready := corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	for _, tc := range []struct {
		name string
		pod  runtime.Object
		want string // "" ready
	}{
		{"ready", pod(ready), ""},
		{"succeeded", pod(corev1.PodStatus{Phase: corev1.PodSucceeded}), ""},
		{"failed", pod(corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}), "Evicted low on memory"},
		{"crash loop", pod(waiting("CrashLoopBackOff", "back-off 10s")), "CrashLoopBackOff"},
		{"starting", pod(corev1.PodStatus{Phase: corev1.PodPending}), "timed out waiting: pod Pending, not ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := podReady(ctx, fake.NewClientset(tc.pod), "default", "p")
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}

func TestReplicaSetReady(t *testing.T) {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: 1},
		Spec:       appsv1.ReplicaSetSpec{Replicas: int32p(2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status:     appsv1.ReplicaSetStatus{ObservedGeneration: 1, AvailableReplicas: 1},
	}
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Status: waiting("InvalidImageName", `couldn't parse image name "Nginx"`)}
	err := replicaSetReady(context.Background(), fake.NewClientset(rs, bad), "default", "web")
	if err == nil || !strings.Contains(err.Error(), "InvalidImageName") {
		t.Fatalf("want the pod's InvalidImageName, got %v", err)
	}
	all := rs.DeepCopy()
	all.Status.AvailableReplicas = 2
	if err := replicaSetReady(context.Background(), fake.NewClientset(all), "default", "web"); err != nil {
		t.Fatalf("all available: %v", err)
	}
	behind := all.DeepCopy()
	behind.Generation = 2
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := replicaSetReady(ctx, fake.NewClientset(behind), "default", "web"); err == nil || !strings.Contains(err.Error(), "has not seen generation 2") {
		t.Fatalf("observedGeneration behind: %v", err)
	}
}

// TestStuckPodsNamesTheDownNode: a delete that never finishes says which pods are
// still terminating and that their node is not Ready.
func TestStuckPodsNamesTheDownNode(t *testing.T) {
	gone := metav1.Now()
	cs := fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "down"},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "demo", DeletionTimestamp: &gone, Finalizers: []string{"x"}},
			Spec: corev1.PodSpec{NodeName: "down"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-2", Namespace: "demo"}, Spec: corev1.PodSpec{NodeName: "down"}},
	)
	got := stuckPods(context.Background(), cs, "demo")
	if !strings.Contains(got, "web-1 on node down (not Ready)") || strings.Contains(got, "web-2") {
		t.Errorf("stuckPods = %q", got)
	}
	if got := stuckPods(context.Background(), fake.NewClientset(), "demo"); got != "" {
		t.Errorf("no stuck pods: %q", got)
	}
}
