# A database with a volume claim per replica. Containers, env entries and volume
# mounts are matched by name (mounts by path): removing one never changes another.
resource "slipway_stateful_set" "db" {
  metadata = {
    name      = "db"
    namespace = "shop"
  }
  spec = {
    service_name = "db"
    replicas     = 3
    selector     = { match_labels = { app = "db" } }
    template = {
      metadata = { labels = { app = "db" } }
      spec = {
        containers = [{
          name          = "postgres"
          image         = "postgres:17"
          ports         = [{ name = "pg", container_port = 5432 }]
          env           = [{ name = "PGDATA", value = "/data/pg" }]
          volume_mounts = [{ name = "data", mount_path = "/data" }]
        }]
      }
    }
    volume_claim_templates = [{
      metadata = { name = "data" }
      spec = {
        access_modes = ["ReadWriteOnce"]
        resources    = { requests = { storage = "10Gi" } }
      }
    }]
  }
  # Apply waits until every replica runs the new template, and fails early with the
  # reason. To roll back, apply the previous configuration.
  rollout_timeout = "15m"
  cluster         = var.cluster
}
