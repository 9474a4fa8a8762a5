"""Registration: readers for every input format, per-record hashing, and the
`register` path that commits records, batch row and entry in one transaction."""
