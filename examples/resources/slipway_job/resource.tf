# A database migration that apply waits for. A job's pod template cannot change,
# so a new image plans a new job (the old one is deleted first).
resource "slipway_job" "migrate" {
  metadata = {
    name      = "migrate-v7"
    namespace = "shop"
  }
  spec = {
    backoff_limit           = 2
    active_deadline_seconds = 600
    template = {
      spec = {
        restart_policy = "Never"
        containers = [{
          name    = "migrate"
          image   = "shop/migrate:7"
          command = ["migrate", "--up"]
          env     = [{ name = "DB_URL", value_from = { secret_key_ref = { name = "db", key = "url" } } }]
        }]
      }
    }
  }
  wait_for_completion = true
  completion_timeout  = "10m"
  cluster             = var.cluster
}
