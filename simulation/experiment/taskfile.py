"""A results file of finished tasks, so a many-run command that was cut off resumes where it was.

JSON lines: a header naming the work (scenario hash, grid, replications), then one line per
finished task, `{"task": index, "result": ...}`, appended and flushed as each task finishes. A
file whose header names other work is started afresh; a last line cut short by a crash is
ignored. Floats survive the JSON round trip exactly, so a resumed run gives the same figures.
"""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

__all__ = ["TaskFile"]


class TaskFile:
    """Finished tasks of one piece of work, kept at ``path``."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self._header = json.loads(json.dumps(header))  # as it reads back
        self.done: dict[int, Any] = self._read()
        self._handle: TextIO | None = None

    def _read(self) -> dict[int, Any]:
        if not self.path.exists():
            return {}
        lines = self.path.read_text(encoding="utf-8").splitlines()
        with suppress(json.JSONDecodeError, IndexError):
            if json.loads(lines[0]) != self._header:
                return {}  # another sweep's: start over
            done: dict[int, Any] = {}
            for line in lines[1:]:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    break  # cut short by a crash
                done[int(row["task"])] = row["result"]
            return done
        return {}

    def record(self, task: int, result: Any) -> None:
        """Append one finished task (the header and the tasks kept first, on the first call)."""
        handle = self._handle
        if handle is None:
            # written afresh with what was kept, so a torn last line is gone
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._handle = self.path.open("w", encoding="utf-8")
            handle.write(json.dumps(self._header) + "\n")
            for kept, value in self.done.items():
                handle.write(json.dumps({"task": kept, "result": value}) + "\n")
        handle.write(json.dumps({"task": task, "result": result}) + "\n")
        handle.flush()
        self.done[task] = result

    def close(self, *, finished: bool) -> None:
        """Close the file; a finished piece of work removes it (its outputs hold the results)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if finished:
            self.path.unlink(missing_ok=True)
