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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

try:
    from yaml._yaml import CParser
except ImportError:  # a PyYAML built without libyaml: `strict_load` uses StrictLoader alone
    from yaml.parser import Parser as CParser  # type: ignore[assignment]

from dispatcher.errors import AlertsimError

__all__ = [
    "MAX_DEPTH",
    "FastStrictLoader",
    "InputError",
    "StrictLoader",
    "confine",
    "decode_text",
    "load_yaml",
    "read_bounded",
    "strict_load",
    "yaml_problem",
]

# A scenario or topology nests about six levels; 64 leaves room and stays far below the
# interpreter's recursion limit (PyYAML composes recursively, three frames per level).
MAX_DEPTH: Final = 64

T = TypeVar("T")


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


class _Strict:
    """What both strict loaders refuse beyond PyYAML's SafeLoader: duplicate mapping keys and
    nesting deeper than MAX_DEPTH (a mixin before the composer and constructor it extends)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise yaml.MarkedYAMLError(
                    problem=f"nesting deeper than {MAX_DEPTH} levels", problem_mark=mark
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if duplicate and key != "<<":
                    raise yaml.constructor.ConstructorError(
                        problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                    )
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class StrictLoader(_Strict, yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys and nesting deeper than MAX_DEPTH."""


class FastStrictLoader(_Strict, Composer, CParser, SafeConstructor, Resolver):
    """StrictLoader's composer and constructor over libyaml's scanner and parser (in C).

    Scanning is most of loading (a scenario, its topology and its sources: about 250 ms in
    Python, 15 ms so): the nodes, and so the data, are the ones StrictLoader composes, the
    checks the same Python code. libyaml words its syntax errors its own way, so a text this
    loader refuses is loaded again by StrictLoader (`strict_load`), whose message is told.
    """

    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


def strict_load(text: str, load: Callable[[StrictLoader | FastStrictLoader], T]) -> T:
    """``load(loader)`` with FastStrictLoader over ``text``; on a YAML problem (or nesting
    past the interpreter's limit) with StrictLoader instead, so that a text is refused as
    StrictLoader refuses it. Each loader is disposed of after its turn."""
    if not yaml.__with_libyaml__:  # a PyYAML built without it: its CParser raises
        return _strict_load_python(text, load)
    fast = FastStrictLoader(text)
    try:
        return load(fast)
    except (yaml.YAMLError, RecursionError):
        pass  # told below in StrictLoader's words
    finally:
        fast.dispose()
    return _strict_load_python(text, load)


def _strict_load_python(text: str, load: Callable[[StrictLoader], T]) -> T:
    loader = StrictLoader(text)
    try:
        return load(loader)
    finally:
        loader.dispose()


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
    """Parse one YAML document strictly (`strict_load`); yaml.YAMLError on any problem."""
    return strict_load(text, lambda loader: loader.get_single_data())
