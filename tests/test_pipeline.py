"""The ``casekit`` command line: pre-flight errors, chapter selection, atomic updates."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import CASEKIT, ROOT, casekit, minimal_project

from casekit import _runtime, profiles
from casekit.book import pipeline


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "nope"], "profile must be one of 'smoke', 'book', 'full'; got 'nope'"),
        (["-p", "epochs", "0"], "epochs must be an integer >= 1 (or None for the profile's default); got 0"),
        (
            ["-p", "epochs", "two"],
            "epochs must be an integer >= 1 (or None for the profile's default); got 'two'",
        ),
        (
            ["-p", "no_such_param", "1"],
            "parameter 'no_such_param' is not declared by 00-why-dropout-seems-broken.ipynb; "
            "declared: profile, seeds, epochs, data_source, label_noises, rate",
        ),
        (
            ["--only", "01", "-p", "label_noise", "0.95"],
            "label_noise must be a number in [0, 0.9] (the share of training labels replaced by a wrong "
            "digit); got 0.95",
        ),
        (
            ["--only", "01", "-p", "rate", "1.0"],
            "rate must be a number in [0, 1) (the fraction dropped); got 1.0",
        ),
        (
            ["--only", "99"],
            "unknown chapter '99'; available: 00, 01, 02, 03, 04, 05, 06 (or their file names)",
        ),
        (
            ["--update", "-p", "seeds", "2"],
            "--update stores the default-profile outputs only; drop --profile/-p (got seeds)",
        ),
    ],
)
def test_bad_run_arguments_fail_in_one_line_before_any_kernel(args: list[str], message: str) -> None:
    before = _digest(ROOT / "chapters")
    result = casekit("run", *args)
    assert result.returncode == 2
    assert result.stderr == f"casekit: error: {message}\n"  # the whole line, one line
    assert "executing" not in result.stdout  # nothing started
    assert _digest(ROOT / "chapters") == before


def test_parse_value_reads_literals_and_keeps_words() -> None:
    assert pipeline.parse_value("0") == 0
    assert pipeline.parse_value("0.5") == 0.5
    assert pipeline.parse_value("None") is None
    assert pipeline.parse_value("[0.1, 0.2]") == [0.1, 0.2]
    assert pipeline.parse_value("two") == "two"


def _project(tmp_path: Path, body: str) -> pipeline.Project:
    return pipeline.Project(minimal_project(tmp_path, body))


def test_failed_run_leaves_the_stored_chapter_untouched(tmp_path: Path) -> None:
    project = _project(tmp_path, 'raise ValueError("epochs must be positive")')
    before = _digest(project.chapters)
    with pytest.raises(
        pipeline.ChapterFailed, match=r"^01-test.ipynb failed: ValueError: epochs must be positive$"
    ):
        pipeline.execute(project, project.chapter_files(), {}, update=True, progress=False)
    assert _digest(project.chapters) == before


def test_successful_update_replaces_the_chapter_with_its_outputs(tmp_path: Path) -> None:
    project = _project(tmp_path, "print(epochs)")
    pipeline.execute(project, project.chapter_files(), {}, update=True, progress=False)
    stored = json.loads((project.chapters / "01-test.ipynb").read_text())
    assert stored["cells"][1]["outputs"][0]["text"] == ["None\n"]
    assert stored["metadata"]["papermill"]["input_path"] == "chapters/01-test.ipynb"
    assert not list(project.chapters.glob(".*.tmp"))


def test_overrides_reach_the_executed_copy_only(tmp_path: Path) -> None:
    project = _project(tmp_path, "print(epochs)")
    before = _digest(project.chapters)
    pipeline.execute(project, project.chapter_files(), {"epochs": 3}, progress=False)
    executed = json.loads((project.executed / "01-test.ipynb").read_text())
    assert executed["cells"][-1]["outputs"][0]["text"] == ["3\n"]
    assert _digest(project.chapters) == before


@pytest.mark.skipif(os.name != "posix", reason="Windows keeps TCP")
def test_the_kernel_talks_over_local_sockets_kept_out_of_the_chapters(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """No ipykernel warning about unencrypted TCP, and no socket files in the working
    directory (``chapters/``), where a killed kernel would leave them."""
    body = (
        "import json, os\nfrom ipykernel.connect import get_connection_file\n"
        "print(json.load(open(get_connection_file()))['transport'], sorted(os.listdir()))"
    )
    project = _project(tmp_path, body)
    pipeline.execute(project, project.chapter_files(), {}, progress=False)
    assert "without encryption" not in capfd.readouterr().err
    executed = json.loads((project.executed / "01-test.ipynb").read_text())
    assert executed["cells"][-1]["outputs"][0]["text"] == ["ipc ['01-test.ipynb']\n"]
    assert sorted(p.name for p in project.chapters.iterdir()) == ["01-test.ipynb"]


def test_select_accepts_numbers_and_file_names(tmp_path: Path) -> None:
    project = _project(tmp_path, "pass")
    shutil.copy(project.chapters / "01-test.ipynb", project.chapters / "02-other.ipynb")
    assert [p.name for p in pipeline.select(project, ["02"])] == ["02-other.ipynb"]
    assert [p.name for p in pipeline.select(project, ["01-test.ipynb", "01"])] == ["01-test.ipynb"]
    assert len(pipeline.select(project, None)) == 2


def test_parameters_cell_must_hold_literals(tmp_path: Path) -> None:
    project = _project(tmp_path, "pass")
    notebook = nbformat.read(project.chapters / "01-test.ipynb", as_version=4)
    notebook.cells[0].source = "import os\nprofile = os.environ['P']"
    nbformat.write(notebook, project.chapters / "01-test.ipynb")
    with pytest.raises(
        ValueError, match=r"^01-test\.ipynb: parameters cell may hold literal assignments only$"
    ):
        profiles.declared_parameters(notebook.cells, "01-test.ipynb")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--only", "01", "--profile", "smoke", "-p", "seeds", "1"],
            "seeds must be an integer from 2 to 50 (intervals over seeds need at least 2)",
        ),
        (
            ["--only", "03", "-p", "width_rates", "[0.99999]"],
            "width_rates[0] must be at most 0.95 (width 64 / (1 - rate) at most 1,280 units); got 0.99999",
        ),
        (["--only", "01", "-p", "depth", "50"], "depth must be at most 10; got 50"),
    ],
)
def test_parameters_a_chapter_cannot_run_are_rejected_before_any_kernel(
    args: list[str], message: str
) -> None:
    result = casekit("run", *args)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert message in result.stderr and "executing" not in result.stdout


@pytest.mark.parametrize("command", [["run", "--only", "00"], ["ledger"], ["build"]])
def test_a_chapter_that_is_not_notebook_json_is_named(tmp_path: Path, command: list[str]) -> None:
    shutil.copytree(ROOT / "book", tmp_path / "book")
    shutil.copytree(ROOT / "chapters", tmp_path / "chapters")
    broken = tmp_path / "chapters" / "00-why-dropout-seems-broken.ipynb"
    broken.write_text(broken.read_text(encoding="utf-8")[:2000], encoding="utf-8")
    result = casekit(*command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("casekit: error: ")
        and "00-why-dropout-seems-broken.ipynb is not valid notebook JSON" in last
    )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_ctrl_c_prints_one_line_exits_130_and_leaves_chapters_untouched(tmp_path: Path) -> None:
    """Ctrl-C stops the chapter's process and its kernel (in a session of its own), and
    nothing that ``casekit run`` started outlives it."""
    import signal
    import time

    psutil = pytest.importorskip("psutil")

    shutil.copytree(ROOT / "book", tmp_path / "book")
    shutil.copytree(ROOT / "chapters", tmp_path / "chapters")
    before = _digest(tmp_path / "chapters")
    # A terminal's Ctrl-C sends SIGINT to the whole foreground process group. SIGINT's
    # default action is restored first: a shell ignores it in background jobs (CI runs
    # `make test` like that) and the ignoring would be inherited.
    process = subprocess.Popen(
        [CASEKIT, "run", "--update", "--only", "01", "--no-progress"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    assert "executing" in process.stdout.readline()

    def below() -> list[Any]:
        try:
            return list(psutil.Process(process.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return []

    def command(child: Any) -> str:
        try:
            return " ".join(child.cmdline())
        except psutil.Error:
            return ""

    def running(child: Any) -> bool:  # a killed process not yet reaped by its new parent is not
        try:
            return bool(child.is_running() and child.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False

    deadline = time.monotonic() + 60
    while not any("ipykernel" in command(child) for child in below()):
        assert time.monotonic() < deadline, "no kernel started"
        time.sleep(0.2)
    time.sleep(2)  # the kernel is executing cells
    started = below()  # the chapter's process, papermill's kernel and whatever they started
    assert any("casekit._process" in command(child) for child in started)
    os.killpg(process.pid, signal.SIGINT)
    # Checked as casekit exits, before its pipes are read (a kernel left running would hold
    # them open): ipykernel shuts itself down a second after its parent is gone, printing a
    # line after casekit's own, and that second is what killing it is for.
    process.wait(timeout=120)
    left = [command(child) or str(child.pid) for child in started if running(child)]
    _, stderr = process.communicate(timeout=120)
    assert left == [], f"still running after the interrupt: {left}"
    assert process.returncode == 130
    assert (
        stderr.strip().splitlines()[-1] == "casekit: interrupted; the chapter that was running was not stored"
    )
    assert "Traceback" not in stderr
    assert _digest(tmp_path / "chapters") == before
    assert sorted(p.name for p in (tmp_path / "chapters").iterdir()) == sorted(before)  # no kernel sockets


def test_the_casekit_command_runs_in_the_book_session(tmp_path: Path) -> None:
    """`casekit bench` and `casekit diagnose` measure with the settings the chapters' kernels
    get (casekit.setup_book_session), even from a shell that set none of them."""
    code = (
        "import json, os\nfrom casekit import _runtime, cli\n"
        "cli.main(['diagnose', 'missing.keras'])\n"
        "print(json.dumps({n: os.environ.get(n) for n in _runtime.BOOK_SESSION_ENV}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in _runtime.BOOK_SESSION_ENV}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == _runtime.BOOK_SESSION_ENV, done.stderr
