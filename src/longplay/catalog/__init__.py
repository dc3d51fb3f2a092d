"""The catalog: one normalized music metadata database, built in immutable generations."""
