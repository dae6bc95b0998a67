"""Operating a node: service install, health checks (doctor), backup and restore."""
