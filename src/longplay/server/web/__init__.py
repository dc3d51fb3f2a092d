"""The web player and the archive's own pages, served by `longplay serve` beside the API."""
