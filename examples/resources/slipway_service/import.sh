# A service imports by namespace/name.
terraform import slipway_service.web shop/web
