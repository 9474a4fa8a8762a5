"""What a batch is registered against: licenses, consent policy versions and
datasets, as validated manifests and the signed entries that record them."""
