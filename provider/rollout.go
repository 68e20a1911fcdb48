package provider

// Waits after apply: rollouts of deployments, stateful sets and daemon sets,
// readiness of replica sets and pods, completion of jobs, binding of volume claims. Each fails fast with the reason
// when waiting cannot help.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// How long a pod may stay unschedulable before the wait calls it certain. The
// scheduler retries, and a node may be joining, so a moment of it is normal.
const unschedulableGrace = 30 * time.Second

// podFailureReasons are container waiting reasons after which a rollout cannot
// complete without a change to the configuration.
var podFailureReasons = map[string]bool{
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CrashLoopBackOff":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// deploymentRollout waits until a deployment's current generation is fully rolled
// out, as `kubectl rollout status` judges it, and fails as soon as the new pods show
// a failure that waiting cannot fix (case W4).
func deploymentRollout(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return poll(ctx, func() (bool, string, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		done, why := deploymentDone(d)
		if done || d.Status.ObservedGeneration < d.Generation {
			// Until the controller has seen this generation, its conditions, replica
			// sets and pods may still be the old ones: their failures are not this
			// rollout's.
			return done, why, nil
		}
		if err := deploymentFailure(d); err != nil {
			return false, why, err
		}
		hash, err := newReplicaSetHash(ctx, cs, d)
		if err != nil || hash == "" {
			return false, why, nil
		}
		return false, why, podsFailure(ctx, cs, ns, d.Spec.Selector, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	})
}

// poll calls check every 2 seconds until it reports done or an error, or ctx ends;
// then the error says what it last waited for.
func poll(ctx context.Context, check func() (done bool, why string, err error)) error {
	last := "the first look"
	for {
		done, why, err := check()
		if ctx.Err() != nil {
			return fmt.Errorf("timed out waiting: %s", last)
		}
		if err != nil || done {
			return err
		}
		if why != "" {
			last = why
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting: %s", last)
		case <-time.After(pollInterval):
		}
	}
}

// pollInterval is how often waits look; tests shorten it.
var pollInterval = 2 * time.Second

// deploymentDone reports whether d is rolled out, or what it waits for. A status
// whose observedGeneration is behind never counts.
func deploymentDone(d *appsv1.Deployment) (bool, string) {
	if d.Status.ObservedGeneration < d.Generation {
		return false, fmt.Sprintf("the controller has not seen generation %d yet", d.Generation)
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < s.UpdatedReplicas:
		return false, fmt.Sprintf("%d of %d updated replicas available", s.AvailableReplicas, s.UpdatedReplicas)
	}
	return true, ""
}

// deploymentFailure returns the controller's verdict that the rollout cannot go on:
// its progress deadline passed, or it cannot create pods (quota, admission).
func deploymentFailure(d *appsv1.Deployment) error {
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded":
			return fmt.Errorf("progress deadline exceeded: %s", c.Message)
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			return fmt.Errorf("%s: %s", c.Reason, c.Message)
		}
	}
	return nil
}

// newReplicaSetHash returns the pod-template-hash of the deployment's newest replica
// set (the one of its current revision), or "" while there is none.
func newReplicaSetHash(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) (string, error) {
	if d.Spec.Selector == nil {
		return "", nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return "", err
	}
	rss, err := cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", err // the wait goes on; a transient list error is not the rollout's fault
	}
	revision := d.Annotations["deployment.kubernetes.io/revision"]
	for _, rs := range rss.Items {
		if metav1.IsControlledBy(&rs, d) && revision != "" && rs.Annotations["deployment.kubernetes.io/revision"] == revision {
			return rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey], nil
		}
	}
	return "", nil
}

// statefulSetRollout waits until a stateful set's current generation is rolled out,
// as `kubectl rollout status` judges it, failing fast like deploymentRollout. With
// the OnDelete strategy nothing rolls out on its own, so there is nothing to wait for.
func statefulSetRollout(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return poll(ctx, func() (bool, string, error) {
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
			return false, "", errNotWaited
		}
		done, why := statefulSetDone(s)
		if done || s.Status.ObservedGeneration < s.Generation || s.Status.UpdateRevision == "" {
			return done, why, nil
		}
		return false, why, podsFailure(ctx, cs, ns, s.Spec.Selector, appsv1.ControllerRevisionHashLabelKey, s.Status.UpdateRevision)
	})
}

// statefulSetDone reports whether s is rolled out, or what it waits for.
func statefulSetDone(s *appsv1.StatefulSet) (bool, string) {
	st := s.Status
	if st.ObservedGeneration < s.Generation {
		return false, fmt.Sprintf("the controller has not seen generation %d yet", s.Generation)
	}
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	partition := int32(0)
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = *ru.Partition
	}
	switch {
	case st.ReadyReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)
	case partition > 0 && st.UpdatedReplicas < want-partition:
		return false, fmt.Sprintf("%d of %d replicas above the partition updated", st.UpdatedReplicas, want-partition)
	case partition == 0 && st.UpdateRevision != st.CurrentRevision:
		return false, fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	}
	return true, ""
}

// podsFailure looks at the pods of the selector that carry label=value (the pods
// of the newest revision; all of them when label is "") and returns the first
// certain failure among them.
func podsFailure(ctx context.Context, cs kubernetes.Interface, ns string, selector *metav1.LabelSelector, label, value string) error {
	if selector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil
	}
	want := sel.String()
	if label != "" {
		want += "," + label + "=" + value
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: want})
	if err != nil {
		return nil
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for i := range pods.Items {
		if err := podFailure(&pods.Items[i], time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// podFailure returns why a pod cannot become ready without a change, or nil.
func podFailure(p *corev1.Pod, now time.Time) error {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
			now.Sub(c.LastTransitionTime.Time) >= unschedulableGrace {
			return fmt.Errorf("pod %s is unschedulable: %s", p.Name, strings.TrimSpace(c.Message))
		}
	}
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, s := range statuses {
		if w := s.State.Waiting; w != nil && podFailureReasons[w.Reason] {
			msg := strings.TrimSpace(w.Message)
			if msg == "" && s.LastTerminationState.Terminated != nil {
				t := s.LastTerminationState.Terminated
				msg = fmt.Sprintf("last exit code %d (%s)", t.ExitCode, t.Reason)
			}
			return fmt.Errorf("pod %s container %s: %s: %s", p.Name, s.Name, w.Reason, msg)
		}
	}
	return nil
}

// claimBinding waits until a volume claim is bound. A claim whose storage class
// binds on first use (WaitForFirstConsumer) is bound only once a pod uses it, which
// may be created later in the same apply: there is nothing to wait for.
func claimBinding(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return poll(ctx, func() (bool, string, error) {
		c, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		switch c.Status.Phase {
		case corev1.ClaimBound:
			return true, "", nil
		case corev1.ClaimLost:
			return false, "", fmt.Errorf("the claim lost its volume %s", c.Spec.VolumeName)
		}
		class, err := claimClass(ctx, cs, c)
		if err != nil {
			return false, fmt.Sprintf("claim %s (its storage class: %v)", c.Status.Phase, err), nil
		}
		if class != nil && class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer {
			return false, "", errNotWaited
		}
		return false, fmt.Sprintf("claim %s, no volume bound yet", c.Status.Phase), nil
	})
}

// claimClass returns the claim's storage class: the one it names, or the default
// class when it names none; nil when it has none (static binding to volumes).
func claimClass(ctx context.Context, cs kubernetes.Interface, c *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	if n := c.Spec.StorageClassName; n != nil {
		if *n == "" {
			return nil, nil
		}
		sc, err := cs.StorageV1().StorageClasses().Get(ctx, *n, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return sc, err
	}
	list, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// daemonSetRollout waits until a daemon set's current generation runs on every
// node it should, as `kubectl rollout status` judges it, failing fast like
// deploymentRollout. With the OnDelete strategy there is nothing to wait for.
func daemonSetRollout(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return poll(ctx, func() (bool, string, error) {
		d, err := cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
			return false, "", errNotWaited
		}
		done, why := daemonSetDone(d)
		if done || d.Status.ObservedGeneration < d.Generation {
			return done, why, nil
		}
		hash, err := newestRevisionHash(ctx, cs, ns, d.Spec.Selector, d)
		if err != nil || hash == "" {
			return false, why, nil
		}
		return false, why, podsFailure(ctx, cs, ns, d.Spec.Selector, appsv1.ControllerRevisionHashLabelKey, hash)
	})
}

// daemonSetDone reports whether d is rolled out, or what it waits for.
func daemonSetDone(d *appsv1.DaemonSet) (bool, string) {
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return false, fmt.Sprintf("the controller has not seen generation %d yet", d.Generation)
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled:
		return false, fmt.Sprintf("%d of %d nodes run the new pods", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)
	case s.NumberAvailable < s.DesiredNumberScheduled:
		return false, fmt.Sprintf("%d of %d pods available", s.NumberAvailable, s.DesiredNumberScheduled)
	}
	return true, ""
}

// newestRevisionHash returns the controller-revision-hash of the newest revision
// owner keeps (daemon sets record their templates as controller revisions).
func newestRevisionHash(ctx context.Context, cs kubernetes.Interface, ns string, selector *metav1.LabelSelector, owner metav1.Object) (string, error) {
	if selector == nil {
		return "", nil
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return "", err
	}
	revs, err := cs.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", err
	}
	var newest *appsv1.ControllerRevision
	for i := range revs.Items {
		r := &revs.Items[i]
		if metav1.IsControlledBy(r, owner) && (newest == nil || r.Revision > newest.Revision) {
			newest = r
		}
	}
	if newest == nil {
		return "", nil
	}
	return newest.Labels[appsv1.ControllerRevisionHashLabelKey], nil
}

// jobCompletion waits until a job has completed, and fails as soon as the job
// controller gives up (backoff limit, deadline) or one of its pods shows a failure
// that waiting cannot fix.
func jobCompletion(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return poll(ctx, func() (bool, string, error) {
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		for _, c := range j.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				continue
			}
			switch c.Type {
			case batchv1.JobComplete:
				return true, "", nil
			case batchv1.JobFailed:
				return false, "", fmt.Errorf("the job failed: %s: %s", c.Reason, c.Message)
			}
		}
		why := fmt.Sprintf("%d succeeded, %d active, %d failed", j.Status.Succeeded, j.Status.Active, j.Status.Failed)
		if j.Spec.Selector == nil || j.Status.Active == 0 {
			return false, why, nil
		}
		uid := string(j.UID)
		return false, why, podsFailure(ctx, cs, ns, j.Spec.Selector, batchv1.ControllerUidLabel, uid)
	})
}

// replicaSetReady waits until a replica set's pods are all available, failing
// fast on a pod that cannot start. A replica set never replaces running pods when
// its template changes, so every pod it selects counts.
func replicaSetReady(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return poll(ctx, func() (bool, string, error) {
		rs, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if rs.Status.ObservedGeneration < rs.Generation {
			return false, fmt.Sprintf("the controller has not seen generation %d yet", rs.Generation), nil
		}
		want := int32(1)
		if rs.Spec.Replicas != nil {
			want = *rs.Spec.Replicas
		}
		if rs.Status.AvailableReplicas >= want {
			return true, "", nil
		}
		why := fmt.Sprintf("%d of %d replicas available", rs.Status.AvailableReplicas, want)
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
				return false, why, fmt.Errorf("%s: %s", c.Reason, c.Message)
			}
		}
		return false, why, podsFailure(ctx, cs, ns, rs.Spec.Selector, "", "")
	})
}

// podReady waits until a pod is ready (or, for a pod that runs to completion,
// has succeeded), failing fast when it failed or cannot start.
func podReady(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return poll(ctx, func() (bool, string, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return true, "", nil
		case corev1.PodFailed:
			return false, "", fmt.Errorf("the pod failed: %s %s", p.Status.Reason, strings.TrimSpace(p.Status.Message))
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("pod %s, not ready", p.Status.Phase), podFailure(p, time.Now())
	})
}
