package server

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// approveServingCSRs approves kubelet serving certificate requests that a node makes
// for itself and for no more than its own addresses and names. Upstream signs them
// (the controller-manager, with the cluster CA) but approves none: a kubelet could
// otherwise claim any name. With them, the apiserver checks every kubelet it calls
// (--kubelet-certificate-authority).
func approveServingCSRs(ctx context.Context, cs kubernetes.Interface) {
	for ctx.Err() == nil {
		list, err := cs.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range list.Items {
				csr := &list.Items[i]
				if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName || decided(csr) {
					continue
				}
				reason := servingCSRProblem(ctx, cs, csr)
				if reason != "" {
					klog.V(2).Infof("slipway: not approving %s: %s", csr.Name, reason)
					continue
				}
				csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
					Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
					Reason: "SlipwayNodeServing", Message: "the node asked for its own addresses",
				})
				if _, err := cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
					klog.Warningf("slipway: approve %s: %v", csr.Name, err)
				} else {
					klog.Infof("slipway: approved kubelet serving certificate %s for %s", csr.Name, csr.Spec.Username)
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

func decided(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied {
			return true
		}
	}
	return false
}

// servingCSRProblem says why a serving CSR must not be approved, or "".
func servingCSRProblem(ctx context.Context, cs kubernetes.Interface, csr *certificatesv1.CertificateSigningRequest) string {
	nodeName, ok := strings.CutPrefix(csr.Spec.Username, "system:node:")
	if !ok || !slices.Contains(csr.Spec.Groups, "system:nodes") {
		return "not requested by a node"
	}
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil {
		return "no PEM request"
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err.Error()
	}
	if req.Subject.CommonName != csr.Spec.Username {
		return fmt.Sprintf("subject %q is not the requester", req.Subject.CommonName)
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return "asks for e-mail or URI names"
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return "node not readable yet: " + err.Error()
	}
	var names []string
	var ips []net.IP
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			names = append(names, a.Address)
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			ips = append(ips, net.ParseIP(a.Address))
		}
	}
	for _, d := range req.DNSNames {
		if d != nodeName && !slices.Contains(names, d) {
			return "asks for a name that is not the node's: " + d
		}
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(ips, ip.Equal) {
			return "asks for an address that is not the node's: " + ip.String()
		}
	}
	return ""
}
