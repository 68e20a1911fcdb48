resource "slipway_secret" "db" {
  metadata = {
    name      = "db"
    namespace = "shop"
  }
  data = {
    username = "shop"
    password = var.db_password # sensitive: never shown in plans
  }
  cluster = var.cluster
}
