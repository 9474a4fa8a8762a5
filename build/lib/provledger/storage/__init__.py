"""The DuckDB store: connection, migrations, the one append path, and the
projection tables each entry kind writes (and their check against the entries)."""
