# A volume on an NFS export, for claims of the "nfs" class to bind to.
resource "slipway_volume" "shared" {
  metadata = {
    name   = "shared"
    labels = { tier = "shared" }
  }
  spec = {
    capacity                         = { storage = "100Gi" }
    access_modes                     = ["ReadWriteMany"]
    persistent_volume_reclaim_policy = "Retain"
    storage_class_name               = "nfs"
    nfs = {
      server = "10.90.0.10"
      path   = "/srv/exports/shared"
    }
  }
  cluster = var.cluster
}

# A local disk of one node: pods using its claim are scheduled there.
resource "slipway_volume" "fast" {
  metadata = { name = "fast-node1" }
  spec = {
    capacity           = { storage = "200Gi" }
    access_modes       = ["ReadWriteOnce"]
    storage_class_name = "local"
    local              = { path = "/mnt/nvme0" }
    node_affinity = {
      required = {
        node_selector_terms = [{
          match_expressions = [{ key = "kubernetes.io/hostname", operator = "In", values = ["node1"] }]
        }]
      }
    }
  }
  cluster = var.cluster
}
