# Containers, ports, env entries and volumes are lists whose elements are matched by
# name: reordering them, or removing one, never changes the others.
resource "slipway_deployment" "web" {
  metadata = {
    name      = "web"
    namespace = "shop"
    labels    = { app = "web" }
  }
  spec = {
    # Leave replicas out when an autoscaler or `kubectl scale` owns it.
    replicas = 3
    selector = { match_labels = { app = "web" } }
    template = {
      metadata = { labels = { app = "web" } }
      spec = {
        containers = [{
          name  = "web"
          image = "shop/web:1.4.2"
          ports = [{ name = "http", container_port = 8080 }]
          env = [
            { name = "MODE", value = "production" },
            { name = "TOKEN", value_from = { secret_key_ref = { name = "web", key = "token" } } },
          ]
          resources = {
            requests = { cpu = "250m", memory = "128Mi" }
            limits   = { memory = "256Mi" }
          }
          readiness_probe = { http_get = { path = "/healthz", port = "http" } }
        }]
      }
    }
  }
  # Apply waits until every replica runs the new template, and fails early with the
  # reason (image pull error, crash loop, unschedulable). To roll back, apply the
  # previous configuration.
  rollout_timeout = "5m"
  cluster         = var.cluster
}
