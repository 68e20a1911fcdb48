# A pod imports by namespace/name.
terraform import slipway_pod.debug shop/debug
