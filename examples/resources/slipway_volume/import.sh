# A volume is cluster-scoped: it imports by name.
terraform import slipway_volume.shared shared
