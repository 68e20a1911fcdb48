# A node imports by its cluster and its name: the cluster's first server as
# [user@]host[:port], a slash, then [user@]<node name>. The server gives the join
# information and the Node's address; the node's host is then reached on the same
# port as user (default: the server's user). Credentials come from the provider's
# ssh_private_key_file or ssh_agent. The next plan shows no change.
terraform import 'slipway_node.agent["web-1"]' root@10.0.0.10/admin@web-1

# By the node host's own SSH address instead, the join information is unknown:
# the first apply after import records it, changing nothing on the host.
terraform import 'slipway_node.agent["web-1"]' admin@10.0.0.11
