"""Node core: config, store, catalog, submission pipeline, CLI and Flask app."""
