# A config map imports by namespace/name.
terraform import slipway_config_map.site shop/site
