"""Every alertsim command documents every option it takes in its --help."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from simulation.cli import app


def commands() -> list[tuple[list[str], Any]]:
    """(words after `alertsim`, click command) for every command and subcommand."""
    out: list[tuple[list[str], Any]] = []

    def walk(words: list[str], command: Any) -> None:
        if hasattr(command, "commands"):  # a group
            for name, sub in command.commands.items():
                walk([*words, name], sub)
        else:
            out.append((words, command))

    walk([], typer.main.get_command(app))
    return out


COMMANDS = commands()


def test_every_command_is_found() -> None:
    found = {" ".join(words) for words, _ in COMMANDS}
    assert {"run", "validate", "swarm", "dispatch", "keys init", "broker-config"} <= found


@pytest.mark.parametrize(("words", "command"), COMMANDS, ids=[" ".join(w) for w, _ in COMMANDS])
def test_help_names_and_explains_every_option(words: list[str], command: Any) -> None:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "240"})

    assert result.exit_code == 0, result.output
    if words == ["loadtest"]:
        return  # forwarded: the load tester's own --help, checked in tests/loadtest
    assert command.help, f"alertsim {' '.join(words)} has no description"
    for param in command.params:
        if param.param_type_name == "option" and param.name != "help":
            assert param.help, f"alertsim {' '.join(words)} {param.opts[0]}: no help text"
            assert param.opts[0] in result.output
