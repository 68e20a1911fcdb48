# A job imports by namespace/name.
terraform import slipway_job.migrate shop/migrate-v7
