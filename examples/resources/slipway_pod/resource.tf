# A single pod. A changed image updates it in place; a change Kubernetes cannot
# make to a running pod (its command, its volumes, ...) plans a new pod.
resource "slipway_pod" "debug" {
  metadata = {
    name      = "debug"
    namespace = "shop"
    labels    = { app = "debug" }
  }
  spec = {
    restart_policy = "Never"
    containers = [{
      name    = "shell"
      image   = "busybox:1.37"
      command = ["sleep", "3600"]
      resources = {
        requests = { cpu = "10m", memory = "16Mi" }
        limits   = { memory = "32Mi" }
      }
    }]
  }
  # Apply waits until the pod is ready (or has run to completion).
  ready_timeout = "2m"
  cluster       = var.cluster
}
