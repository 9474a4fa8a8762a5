"""The ``provledger`` command line: a thin Typer layer over the ``ledger`` library."""
