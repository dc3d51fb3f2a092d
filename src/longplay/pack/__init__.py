"""Packing the archive into torrents, manifests and torrents.json."""
