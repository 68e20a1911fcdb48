# Quickstart: a cluster on three hosts and a web workload on it, in one apply.
#
# `make demo` runs this against three local test hosts (.slipway/hosts.json). To use
# your own hosts, set `hosts` (see examples/bare-metal for a variables-only version).

terraform {
  required_version = ">= 1.11"
  required_providers {
    slipway = { source = "slipway-dev/slipway" }
  }
}

variable "bundle" {
  description = "Path of the node bundle, dist/slipway-<version>-linux-amd64.tar (make bundle)."
  type        = string
}

variable "web_image" {
  description = "Image archive of the demo web app (make demo-image); uploaded to every node, no registry needed."
  type        = string
  default     = "../../dist/images/demo-web-amd64.tar"
}

variable "hosts_file" {
  description = "Inventory written by `make hosts` (used when `hosts` is not set)."
  type        = string
  default     = "../../.slipway/hosts.json"
}

variable "hosts" {
  description = "Hosts to use instead of the inventory: the first becomes the server, the rest agents."
  type = list(object({
    name     = string
    address  = string
    user     = string
    host_key = string
  }))
  default = null
}

variable "private_key_file" {
  description = "SSH private key for every host (default: the inventory's)."
  type        = string
  default     = null
}

variable "ssh_user" {
  description = "Login for the inventory's hosts: root, or a sudo user such as admin."
  type        = string
  default     = "admin"
}

locals {
  inventory = var.hosts == null ? jsondecode(file(var.hosts_file)) : null
  hosts = var.hosts != null ? var.hosts : [
    for h in local.inventory.hosts : {
      name     = h.name
      address  = h.address
      user     = var.ssh_user
      host_key = h.host_public_key
    }
  ]
  private_key_file = coalesce(var.private_key_file, try(local.inventory.private_key, null))
  agents           = { for h in slice(local.hosts, 1, length(local.hosts)) : h.name => h }
}

provider "slipway" {
  ssh_private_key_file = local.private_key_file
}

# The cluster, created on the first host.
resource "slipway_cluster" "demo" {
  name = "demo"
  ssh = {
    host     = local.hosts[0].address
    user     = local.hosts[0].user
    host_key = local.hosts[0].host_key
  }
  bundles = { amd64 = var.bundle }
  images  = [var.web_image]
}

# Every other host joins as an agent, each its own resource.
resource "slipway_node" "agent" {
  for_each = local.agents
  cluster  = slipway_cluster.demo.join
  ssh = {
    host     = each.value.address
    user     = each.value.user
    host_key = each.value.host_key
  }
}

resource "slipway_namespace" "demo" {
  cluster  = slipway_cluster.demo.cluster_connection
  metadata = { name = "demo" }
}

resource "slipway_config_map" "web" {
  cluster = slipway_cluster.demo.cluster_connection
  metadata = {
    name      = "web-config"
    namespace = slipway_namespace.demo.metadata.name
  }
  data = { message = "hello from the quickstart" }
}

resource "slipway_secret" "web" {
  cluster = slipway_cluster.demo.cluster_connection
  metadata = {
    name      = "web-secret"
    namespace = slipway_namespace.demo.metadata.name
  }
  data = { token = "not-a-real-token" }
}

resource "slipway_deployment" "web" {
  cluster = slipway_cluster.demo.cluster_connection
  metadata = {
    name      = "web"
    namespace = slipway_namespace.demo.metadata.name
    labels    = { app = "web" }
  }
  spec = {
    replicas = 3
    selector = { match_labels = { app = "web" } }
    template = {
      metadata = { labels = { app = "web" } }
      spec = {
        # One replica per node where it can be.
        topology_spread_constraints = [{
          max_skew           = 1
          topology_key       = "kubernetes.io/hostname"
          when_unsatisfiable = "DoNotSchedule"
          label_selector     = { match_labels = { app = "web" } }
          # A lost node (tainted unreachable) stops counting, so its pods can move.
          node_taints_policy = "Honor"
        }]
        containers = [{
          name              = "web"
          image             = "slipway.local/demo-web:1"
          image_pull_policy = "Never"
          ports             = [{ name = "http", container_port = 8080 }]
          resources = {
            requests = { cpu = "50m", memory = "32Mi" }
            limits   = { memory = "64Mi" }
          }
          liveness_probe  = { http_get = { path = "/healthz", port = "http" }, period_seconds = 5 }
          readiness_probe = { http_get = { path = "/healthz", port = "http" }, period_seconds = 2 }
          volume_mounts = [
            { name = "config", mount_path = "/etc/web/config", read_only = true },
            { name = "secret", mount_path = "/etc/web/secret", read_only = true },
          ]
        }]
        volumes = [
          { name = "config", config_map = { name = slipway_config_map.web.metadata.name } },
          { name = "secret", secret = { secret_name = slipway_secret.web.metadata.name } },
        ]
      }
    }
  }
  # Spread over every node: wait until the agents have joined.
  depends_on = [slipway_node.agent]
}

resource "slipway_service" "web" {
  cluster = slipway_cluster.demo.cluster_connection
  metadata = {
    name      = "web"
    namespace = slipway_namespace.demo.metadata.name
  }
  spec = {
    type     = "NodePort"
    selector = { app = "web" }
    ports    = [{ name = "http", port = 80, target_port = "http", node_port = 30080 }]
  }
}

# A small stateful set whose claim the default storage class (a folder on the
# pod's node) provisions.
resource "slipway_service" "store" {
  cluster = slipway_cluster.demo.cluster_connection
  metadata = {
    name      = "store"
    namespace = slipway_namespace.demo.metadata.name
  }
  spec = {
    cluster_ip = "None"
    selector   = { app = "store" }
    ports      = [{ name = "http", port = 8080 }]
  }
}

resource "slipway_stateful_set" "store" {
  cluster = slipway_cluster.demo.cluster_connection
  metadata = {
    name      = "store"
    namespace = slipway_namespace.demo.metadata.name
  }
  spec = {
    service_name = slipway_service.store.metadata.name
    replicas     = 1
    selector     = { match_labels = { app = "store" } }
    template = {
      metadata = { labels = { app = "store" } }
      spec = {
        containers = [{
          name              = "store"
          image             = "slipway.local/demo-web:1"
          image_pull_policy = "Never"
          ports             = [{ name = "http", container_port = 8080 }]
          resources         = { requests = { cpu = "10m", memory = "16Mi" } }
          volume_mounts     = [{ name = "data", mount_path = "/data" }]
        }]
      }
    }
    volume_claim_templates = [{
      metadata = { name = "data" }
      spec = {
        access_modes = ["ReadWriteOnce"]
        resources    = { requests = { storage = "64Mi" } }
      }
    }]
  }
}

output "service_url" {
  description = "The web service, through its NodePort on the first host (any node answers)."
  value       = "http://${local.hosts[0].address}:30080/"
}

output "kubeconfig" {
  description = "Admin kubeconfig of the cluster."
  value       = slipway_cluster.demo.kubeconfig
  sensitive   = true
}
