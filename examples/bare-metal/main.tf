# The quickstart's cluster on hosts you already have: bare metal or VMs reached over
# SSH. Everything comes from variables (see terraform.tfvars.example).

terraform {
  required_version = ">= 1.11"
  required_providers {
    slipway = { source = "slipway-dev/slipway" }
  }
}

variable "bundle" {
  description = "Path of dist/slipway-<version>-linux-amd64.tar (make bundle)."
  type        = string
}

variable "private_key_file" {
  description = "SSH private key that logs in to every host."
  type        = string
  default     = "~/.ssh/id_ed25519"
}

variable "server" {
  description = "The first server: its address, login (root or a sudo user) and SSH host key (ssh-keyscan)."
  type = object({
    address  = string
    user     = string
    host_key = string
  })
}

variable "agents" {
  description = "Agents by node name."
  type = map(object({
    address  = string
    user     = string
    host_key = string
  }))
  default = {}
}

variable "images" {
  description = "Image archives (docker save / OCI) every node imports, for workloads without a registry."
  type        = list(string)
  default     = []
}

provider "slipway" {
  ssh_private_key_file = var.private_key_file
}

resource "slipway_cluster" "main" {
  ssh = {
    host     = var.server.address
    user     = var.server.user
    host_key = var.server.host_key
  }
  bundles = { amd64 = var.bundle }
  images  = var.images
}

resource "slipway_node" "agent" {
  for_each  = var.agents
  cluster   = slipway_cluster.main.join
  node_name = each.key
  ssh = {
    host     = each.value.address
    user     = each.value.user
    host_key = each.value.host_key
  }
}

output "api_server_url" {
  value = slipway_cluster.main.api_server_url
}

output "kubeconfig" {
  value     = slipway_cluster.main.kubeconfig
  sensitive = true
}
