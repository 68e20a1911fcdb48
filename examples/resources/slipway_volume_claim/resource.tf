# A claim bound to a given volume; apply waits until it is bound.
resource "slipway_volume_claim" "uploads" {
  metadata = {
    name      = "uploads"
    namespace = "shop"
  }
  spec = {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = "nfs"
    volume_name        = slipway_volume.shared.metadata.name
    resources          = { requests = { storage = "100Gi" } }
  }
  wait_for_binding = true
  cluster          = var.cluster
}
