# A replica set imports by namespace/name.
terraform import slipway_replica_set.workers shop/workers
