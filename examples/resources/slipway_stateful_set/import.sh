# A stateful set imports by namespace/name.
terraform import slipway_stateful_set.db shop/db
