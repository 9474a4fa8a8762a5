"""The worked example's data, shipped with the package so `provledger demo` runs from an
installed wheel (see README.md in this folder)."""
