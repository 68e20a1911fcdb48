package server

import (
	"context"
	"fmt"
	"path"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// The local-path provisioner: claims of the default StorageClass "local-path"
// become folders on the node that runs the claim's first pod, as k3s's local-path
// provisioner does. The class binds on first use, so the scheduler picks the node
// (volume.kubernetes.io/selected-node) and the volume follows the pod; the
// kubelet creates the folder (hostPath DirectoryOrCreate). A released volume of a
// Delete class has its folder removed by a short helper pod on its node.
const (
	localPathProvisioner = "slipway.dev/local-path"
	localPathClass       = "local-path"
	// localPathRoot is where volumes live on every node.
	localPathRoot       = "/var/lib/slipway/storage"
	selectedNodeAnno    = "volume.kubernetes.io/selected-node"
	provisionerAnno     = "volume.kubernetes.io/storage-provisioner"
	provisionedByAnno   = "pv.kubernetes.io/provisioned-by"
	localPathPollPeriod = 2 * time.Second
)

// runLocalPath provisions and cleans up local volumes until ctx ends.
func runLocalPath(ctx context.Context, cs kubernetes.Interface, helperImage string) {
	for ctx.Err() == nil {
		if err := provisionClaims(ctx, cs); err != nil {
			klog.V(2).Infof("slipway: local-path: %v", err)
		}
		if err := cleanReleased(ctx, cs, helperImage); err != nil {
			klog.V(2).Infof("slipway: local-path: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(localPathPollPeriod):
		}
	}
}

func provisionClaims(ctx context.Context, cs kubernetes.Interface) error {
	claims, err := cs.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range claims.Items {
		pvc := &claims.Items[i]
		if pvc.Status.Phase != corev1.ClaimPending || pvc.Spec.VolumeName != "" ||
			pvc.Annotations[provisionerAnno] != localPathProvisioner || pvc.Annotations[selectedNodeAnno] == "" {
			continue
		}
		class, err := cs.StorageV1().StorageClasses().Get(ctx, ptr.Deref(pvc.Spec.StorageClassName, ""), metav1.GetOptions{})
		if err != nil {
			return err
		}
		pv := localVolume(pvc, class)
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{FieldManager: "slipway"}); err != nil && !apierrors.IsAlreadyExists(err) {
			klog.Warningf("slipway: local-path: volume for claim %s/%s: %v", pvc.Namespace, pvc.Name, err)
			continue
		}
		klog.Infof("slipway: local-path: provisioned %s on %s for claim %s/%s", pv.Name, pvc.Annotations[selectedNodeAnno], pvc.Namespace, pvc.Name)
	}
	return nil
}

// localVolume is the PersistentVolume for a claim: a folder on the selected node,
// named after the claim so an operator can tell them apart.
func localVolume(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) *corev1.PersistentVolume {
	node := pvc.Annotations[selectedNodeAnno]
	name := "pvc-" + string(pvc.UID)
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if size.IsZero() {
		size = resource.MustParse("1Gi")
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{provisionedByAnno: localPathProvisioner},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			VolumeMode:                    pvc.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: path.Join(localPathRoot, fmt.Sprintf("%s_%s_%s", name, pvc.Namespace, pvc.Name)),
				Type: ptr.To(corev1.HostPathDirectoryOrCreate),
			}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node},
				}}}},
			}},
		},
	}
}

// cleanReleased removes the folder of each released local volume whose class says
// Delete, with a helper pod on its node, then the volume itself.
func cleanReleased(ctx context.Context, cs kubernetes.Interface, helperImage string) error {
	pvs, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range pvs.Items {
		pv := &pvs.Items[i]
		if pv.Annotations[provisionedByAnno] != localPathProvisioner || pv.Status.Phase != corev1.VolumeReleased ||
			pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.Spec.HostPath == nil {
			continue
		}
		if err := removeFolder(ctx, cs, pv, helperImage); err != nil {
			klog.Warningf("slipway: local-path: remove the folder of %s: %v", pv.Name, err)
			continue
		}
		if err := cs.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		klog.Infof("slipway: local-path: deleted %s and its folder", pv.Name)
	}
	return nil
}

func volumeNode(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key == "kubernetes.io/hostname" && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

// removeFolder runs volume-helper on the volume's node and waits for it. The pod
// is named after the volume, so a retry finds the one already running.
func removeFolder(ctx context.Context, cs kubernetes.Interface, pv *corev1.PersistentVolume, image string) error {
	node := volumeNode(pv)
	if node == "" {
		return fmt.Errorf("no node in its affinity")
	}
	name := "delete-" + pv.Name
	pods := cs.CoreV1().Pods("kube-system")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": "slipway-volume-helper"}},
		Spec: corev1.PodSpec{
			NodeName:      node,
			RestartPolicy: corev1.RestartPolicyNever,
			Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name: "volume-helper", Image: image, ImagePullPolicy: corev1.PullNever,
				Args:         []string{"rm", path.Join("/storage", path.Base(pv.Spec.HostPath.Path))},
				VolumeMounts: []corev1.VolumeMount{{Name: "storage", MountPath: "/storage"}},
			}},
			Volumes: []corev1.Volume{{Name: "storage", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: localPathRoot, Type: ptr.To(corev1.HostPathDirectoryOrCreate),
			}}}},
		},
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return pods.Delete(ctx, name, metav1.DeleteOptions{})
	case corev1.PodFailed:
		_ = pods.Delete(ctx, name, metav1.DeleteOptions{})
		return fmt.Errorf("helper pod failed on %s", node)
	default:
		return fmt.Errorf("helper pod on %s is %s", node, p.Status.Phase)
	}
}
