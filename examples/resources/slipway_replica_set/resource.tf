# Three identical pods. Prefer slipway_deployment: a replica set does not replace
# running pods when its template changes.
resource "slipway_replica_set" "workers" {
  metadata = {
    name      = "workers"
    namespace = "shop"
  }
  spec = {
    replicas = 3
    selector = { match_labels = { app = "workers" } }
    template = {
      metadata = { labels = { app = "workers" } }
      spec = {
        containers = [{ name = "worker", image = "shop/worker:2.3" }]
      }
    }
  }
  cluster = var.cluster
}
