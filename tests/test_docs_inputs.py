"""The Python example in docs/inputs.md runs as written against a fresh ledger."""

from __future__ import annotations

import re
from pathlib import Path

from ledger.ledger import Ledger

DOC = Path(__file__).resolve().parent.parent / "docs" / "inputs.md"


def test_the_in_memory_example_runs(home: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    with Ledger.init(home) as led:
        for name in ("inputs-demo", "inputs-demo-2", "inputs-demo-3", "inputs-demo-4"):
            led.create_dataset(name, owner="o", context="internal", uses=["train"])
    exec(compile(blocks[0], str(DOC), "exec"), {})  # asserts inside the example hold
    with Ledger.open(home, read_only=True) as led:
        formats = [r[0] for r in led.store.rows("SELECT file_format FROM batches ORDER BY seq")]
    assert formats == ["pandas", "datasets", "arrow-stream", "records"]
