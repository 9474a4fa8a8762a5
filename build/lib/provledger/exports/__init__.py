"""What leaves the ledger: rendered audit reports, the standard exports (Croissant,
OpenLineage, W3C PROV) and the regulators' disclosures (EU GPAI summary, CA AB 2013)."""
