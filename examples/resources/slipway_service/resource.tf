# Ports are matched by name: removing "metrics" leaves "http" exactly as it was.
resource "slipway_service" "web" {
  metadata = {
    name      = "web"
    namespace = "shop"
  }
  spec = {
    type     = "NodePort"
    selector = { app = "web" }
    ports = [
      { name = "http", port = 80, target_port = "http", node_port = 30080 },
      { name = "metrics", port = 9090 },
    ]
  }
  cluster = var.cluster
}
