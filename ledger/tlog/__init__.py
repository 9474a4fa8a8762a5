"""The transparency log's pure parts: RFC 8785 canonical JSON, RFC 9162 Merkle trees
and proofs, C2SP signed-note checkpoints, and the ledger home's key files."""
