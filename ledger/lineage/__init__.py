"""Lineage and erasure: what a data subject, a record or a text reaches, deletion
requests and their receipts, and the active-record export and check."""
