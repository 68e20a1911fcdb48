# A cluster imports by its first server's SSH address, [user@]host[:port]; the
# credentials come from the provider's ssh_private_key_file or ssh_agent, and the
# host key seen is kept in state. What no host holds (the name, the workstation
# paths of bundles and images, api_endpoint) comes from the record the cluster
# resource keeps in the cluster (ConfigMap kube-system/slipway-terraform-inputs).
terraform import slipway_cluster.main admin@10.0.0.10
