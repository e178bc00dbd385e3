"""The results file of finished tasks: kept across a cut, ignored when it is another sweep's."""

from __future__ import annotations

from pathlib import Path

from simulation.experiment.taskfile import TaskFile


def test_finished_tasks_survive_a_cut_and_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    first = TaskFile(path, {"work": "a", "grid": [{"x": 0.1}]})
    first.record(3, {"share": 0.1 + 0.2})
    first.record(0, {"share": None})
    first.close(finished=False)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"task": 1, "res')  # a crash mid-line
    again = TaskFile(path, {"work": "a", "grid": [{"x": 0.1}]})
    assert again.done == {3: {"share": 0.30000000000000004}, 0: {"share": None}}
    again.record(1, {"share": 0.5})
    again.close(finished=False)
    assert set(TaskFile(path, {"work": "a", "grid": [{"x": 0.1}]}).done) == {0, 1, 3}


def test_another_sweeps_file_is_started_afresh_and_a_finished_one_removed(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    old = TaskFile(path, {"work": "a"})
    old.record(0, 1.0)
    old.close(finished=False)
    other = TaskFile(path, {"work": "b"})
    assert other.done == {}
    other.record(5, 2.0)
    other.close(finished=True)
    assert not path.exists()
