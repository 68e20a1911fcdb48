# Scales slipway_deployment.web between 2 and 10 replicas on CPU. The deployment
# leaves replicas out, so plans never fight the autoscaler.
resource "slipway_horizontal_autoscaler" "web" {
  metadata = {
    name      = "web"
    namespace = "shop"
  }
  spec = {
    scale_target_ref = { api_version = "apps/v1", kind = "Deployment", name = "web" }
    min_replicas     = 2
    max_replicas     = 10
    metrics = [{
      type     = "Resource"
      resource = { name = "cpu", target = { type = "Utilization", average_utilization = 70 } }
    }]
    behavior = {
      scale_down = { stabilization_window_seconds = 300 }
    }
  }
  cluster = var.cluster
}
