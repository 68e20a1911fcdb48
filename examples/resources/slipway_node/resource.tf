# Agents, one resource each: one failing host never taints the cluster, and nodes
# scale with for_each.
resource "slipway_node" "agent" {
  for_each = {
    web-1 = "10.0.0.11"
    web-2 = "10.0.0.12"
  }
  cluster = slipway_cluster.main.join
  ssh = {
    host             = each.value
    user             = "admin"
    private_key_file = "~/.ssh/id_ed25519"
  }
  node_name = each.key
  labels    = { "example.com/pool" = "web" }
}
