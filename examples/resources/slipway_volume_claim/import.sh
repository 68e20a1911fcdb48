# A volume claim imports by namespace/name.
terraform import slipway_volume_claim.uploads shop/uploads
