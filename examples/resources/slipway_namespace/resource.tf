resource "slipway_namespace" "shop" {
  metadata = {
    name   = "shop"
    labels = { team = "storefront" }
  }
  # The cluster's connection; leave it out to use the provider's kubeconfig_path.
  cluster = var.cluster
}
