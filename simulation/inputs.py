"""Reading files users hand in: confined to roots, regular files only, bounded, strict YAML.

Everything a scenario names (its topology, boundaries, rainfall) and the scenario itself is read
through here, so that hostile input gets a one-line `InputError` instead of a hang or a
traceback: a device or FIFO (`/dev/zero`) is refused before a byte is read, a file larger than
its bound is refused after reading at most one byte past it, a path that leaves the configured
roots (after resolving symlinks and `..`) is refused naming the path as written, and no message
quotes what a file contains beyond the YAML position of a problem. The YAML loader refuses
duplicate keys, tags other than the standard safe ones and nesting deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from dispatcher.errors import AlertsimError

__all__ = [
    "MAX_DEPTH",
    "InputError",
    "StrictLoader",
    "confine",
    "decode_text",
    "load_yaml",
    "read_bounded",
    "yaml_problem",
]

# A scenario or topology nests about six levels; 64 leaves room and stays far below the
# interpreter's recursion limit (PyYAML composes recursively, three frames per level).
MAX_DEPTH: Final = 64


class InputError(AlertsimError, ValueError):
    """A file that cannot be accepted; the message names it and says what was expected."""


def confine(path: Path, roots: Sequence[Path] | None, *, shown: str) -> Path:
    """`path` resolved (symlinks, `..`); InputError unless it lies inside one of `roots`.

    `shown` is how the path was written, the only form of it an error repeats. With `roots`
    None every path is allowed (the command line reads what its user names).
    """
    resolved = path.resolve()
    if roots is None:
        return resolved
    allowed = [root.resolve() for root in roots]
    if not any(resolved.is_relative_to(root) for root in allowed):
        where = ", ".join(str(root) for root in allowed)
        raise InputError(f"expected a path inside {where}, got {shown!r}")
    return resolved


def read_bounded(path: Path, limit: int, *, shown: str | None = None) -> bytes:
    """The bytes of the regular file `path`, refusing devices, FIFOs and files over `limit`."""
    shown = shown if shown is not None else str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; we refuse it right after.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"expected a readable file, got {shown!r} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"expected a regular file, got {shown!r} (a device, FIFO or folder)")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"expected a file of at most {limit:,} bytes, got {shown!r} (larger)")
    return data


def decode_text(data: bytes, shown: str) -> str:
    """UTF-8 text; InputError naming where decoding failed (never the bytes themselves)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"expected UTF-8 text, got {shown!r} with a byte that is not (at offset {exc.start})"
        ) from None


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys and nesting deeper than MAX_DEPTH."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError(
                    problem=f"nesting deeper than {MAX_DEPTH} levels", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if duplicate and key != "<<":
                    raise yaml.constructor.ConstructorError(
                        problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                    )
        return super().construct_mapping(node, deep=deep)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """What went wrong and where (line, column), without the snippet PyYAML quotes."""
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "a YAML error"
        tag = re.match(r"could not determine a constructor for the tag (\S+)", problem)
        if tag:
            problem = f"unknown tag {tag.group(1)} (only the standard YAML tags are allowed)"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
        return problem
    return type(exc).__name__


def load_yaml(text: str) -> Any:
    """Parse one YAML document with StrictLoader; yaml.YAMLError on any problem."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
