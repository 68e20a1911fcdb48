# A namespace imports by its name; configure the provider's kubeconfig_path first.
terraform import slipway_namespace.shop shop
