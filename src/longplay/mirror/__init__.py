"""The mirror operator's side: choose torrents under a budget, verify, seed and fetch."""
