resource "slipway_config_map" "site" {
  metadata = {
    name      = "site"
    namespace = "shop"
  }
  data = {
    "index.html" = "<h1>Welcome</h1>"
    "mode"       = "production"
  }
  binary_data = {
    "logo.png" = filebase64("${path.module}/logo.png")
  }
  cluster = var.cluster
}
