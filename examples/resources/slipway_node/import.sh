# A node imports by its host's SSH address, [user@]host[:port]; the credentials come
# from the provider's ssh_private_key_file or ssh_agent. The cluster's join
# information is not on the host: the first apply after import records it from the
# configuration, changing nothing on the host.
terraform import 'slipway_node.agent["web-1"]' admin@10.0.0.11
