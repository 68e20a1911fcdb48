# The cluster, created on its first server. Every other node is a slipway_node.
resource "slipway_cluster" "main" {
  ssh = {
    host             = "10.0.0.10"
    user             = "admin" # not root: sudo is used
    private_key_file = "~/.ssh/id_ed25519"
    # Pin the host key (ssh-keyscan 10.0.0.10); when unset, the key the host shows
    # first is trusted and kept in state.
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJq6jfk4GuwiwMzZDdMrrmUrjLkNT3/RZJQXpa6Xwxf"
  }
  bundles = {
    amd64 = "dist/slipway-0.1.0-linux-amd64.tar"
  }
  # Everything below is optional. The first four show their defaults.
  pod_cidr       = "10.42.0.0/16"
  service_cidr   = "10.43.0.0/16"
  cluster_domain = "cluster.local"
  scheduler      = "binpack"
  api_endpoint   = "k8s.example.internal"
  images         = ["images/web.tar"]
  labels         = { "example.com/zone" = "a" }
  taints         = [{ key = "node-role.kubernetes.io/control-plane", effect = "NoSchedule" }]
}

# Workload resources take the cluster's connection.
resource "slipway_namespace" "shop" {
  cluster  = slipway_cluster.main.cluster_connection
  metadata = { name = "shop" }
}

output "kubeconfig" {
  value     = slipway_cluster.main.kubeconfig
  sensitive = true
}
