# A horizontal autoscaler imports by namespace/name.
terraform import slipway_horizontal_autoscaler.web shop/web
