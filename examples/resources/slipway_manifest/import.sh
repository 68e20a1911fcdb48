# A manifest imports by apiVersion/kind/namespace/name; cluster-scoped kinds leave
# the namespace empty.
terraform import slipway_manifest.reader rbac.authorization.k8s.io/v1/Role/shop/pod-reader
terraform import slipway_manifest.crd apiextensions.k8s.io/v1/CustomResourceDefinition//widgets.example.com
