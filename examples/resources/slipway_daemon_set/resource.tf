# A log shipper on every node, control-plane nodes included.
resource "slipway_daemon_set" "logs" {
  metadata = {
    name      = "logs"
    namespace = "kube-system"
  }
  spec = {
    selector = { match_labels = { app = "logs" } }
    update_strategy = {
      type           = "RollingUpdate"
      rolling_update = { max_unavailable = "25%" }
    }
    template = {
      metadata = { labels = { app = "logs" } }
      spec = {
        tolerations = [{ operator = "Exists" }]
        containers = [{
          name          = "shipper"
          image         = "fluent-bit:3.1"
          resources     = { requests = { cpu = "50m", memory = "64Mi" }, limits = { memory = "128Mi" } }
          volume_mounts = [{ name = "varlog", mount_path = "/var/log", read_only = true }]
        }]
        volumes = [{ name = "varlog", host_path = { path = "/var/log" } }]
      }
    }
  }
  # Apply waits until every node runs the new template; to roll back, apply the
  # previous configuration.
  rollout_timeout = "10m"
  cluster         = var.cluster
}
