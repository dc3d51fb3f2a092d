"""Packing: lay archived files out into torrents, create them, write manifests and the list."""
