"""Headless Chromium for tests: load a URL, return the rendered DOM and every console message.

Uses Debian's `chromium` (installed by `make test` where missing) as root on these machines, so
the sandbox is off; each call gets a fresh profile directory and nothing reaches the network
except the URL given. Console messages (errors, uncaught exceptions, failed loads) are read from
Chromium's own log on stderr, which prints each one as `CONSOLE(line)] "text", source: url`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
CONSOLE = re.compile(r'CONSOLE[:(]\d+\)?\] "(?P<text>.*)", source: (?P<source>.*)$')


class BrowserError(RuntimeError):
    """Chromium is missing, failed or timed out; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    dom: str  # the document after the page loaded (and its scripts ran)
    console: list[str]  # "text (source)" per console message, in order


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise BrowserError(
            "chromium: expected Debian's chromium on PATH, found none; run "
            "`.ci/ensure-packages chromium:chromium` (make test does this)"
        )
    return path


def _run(url: str, action: list[str], timeout_s: float, window: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="alertsim-chromium-") as profile:
        command = [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={window}",
            "--enable-logging=stderr",
            "--v=0",
            *action,
            url,
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"chromium: {url}: expected to finish in {timeout_s} s") from exc
    if done.returncode != 0:
        raise BrowserError(
            f"chromium: {url}: expected exit status 0, got {done.returncode}: {done.stderr[-2000:]}"
        )
    return done.stdout, done.stderr


def _console(stderr: str) -> list[str]:
    messages = []
    for line in stderr.splitlines():
        match = CONSOLE.search(line)
        if match:
            messages.append(f"{match['text']} ({match['source']})")
    return messages


def open_page(url: str, *, timeout_s: float = 90.0, window: str = "1100,2000") -> Page:
    """Load `url` (http://127.0.0.1:... or file://...) and return its DOM and console messages."""
    stdout, stderr = _run(url, ["--dump-dom"], timeout_s, window)
    return Page(url=url, dom=stdout, console=_console(stderr))


def screenshot(url: str, path: Path, *, timeout_s: float = 90.0, window: str = "1100,4000") -> Path:
    """Save a PNG of the page, for a person to look at (never commit it)."""
    _run(url, [f"--screenshot={path}"], timeout_s, window)
    return path
