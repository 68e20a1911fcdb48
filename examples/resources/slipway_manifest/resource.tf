# Any object Slipway has no resource for, written in HCL...
resource "slipway_manifest" "reader" {
  manifest = {
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "Role"
    metadata   = { name = "pod-reader", namespace = "shop" }
    rules      = [{ apiGroups = [""], resources = ["pods"], verbs = ["get", "list", "watch"] }]
  }
  cluster = var.cluster
}

# ...or read from YAML. A custom resource can come in the same apply as its
# definition: apply waits until the cluster serves the new kind.
resource "slipway_manifest" "crd" {
  manifest = yamldecode(file("${path.module}/widgets-crd.yaml"))
  cluster  = var.cluster
}

resource "slipway_manifest" "widget" {
  manifest = {
    apiVersion = "example.com/v1"
    kind       = "Widget"
    metadata   = { name = "big", namespace = "shop" }
    spec       = { size = "10Gi" }
  }
  cluster    = var.cluster
  depends_on = [slipway_manifest.crd]
}
