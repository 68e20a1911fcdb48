# A secret imports by namespace/name.
terraform import slipway_secret.db shop/db
