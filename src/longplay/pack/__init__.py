"""Packing the archive into torrents: file layout, hashing, .torrent files, manifests."""
