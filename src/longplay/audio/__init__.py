"""Audio files: scan, probe, tags, matching, tagging with bit-exact restore, Opus re-encode."""
