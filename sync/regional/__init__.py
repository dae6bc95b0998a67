"""The regional server: receives node batches, serves case updates and the catalog."""
