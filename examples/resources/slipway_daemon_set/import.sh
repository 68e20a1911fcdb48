# A daemon set imports by namespace/name.
terraform import slipway_daemon_set.logs kube-system/logs
