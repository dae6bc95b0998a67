"""Outreach: what the office prints and hands out (posters built from the catalog)."""
