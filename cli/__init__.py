"""The ``provledger`` command line: a thin Typer layer over the ``ledger`` library."""

import sys
from pathlib import Path

from provledger import interrupts

# Started as the provledger command (the console script, or python -m provledger.cli.main): from the
# first moment, a SIGINT or SIGTERM is remembered rather than raised in the middle of the
# start-up imports; provledger.cli.main.run then reports it like any other (provledger.interrupts).
if Path(sys.argv[0]).name == "provledger" or sys.argv[0] == "-m":
    interrupts.install(early=True)
