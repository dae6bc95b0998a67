"""Store-and-forward sync: the node client, its scheduler and the regional server."""
