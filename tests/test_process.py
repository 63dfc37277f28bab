"""``casekit._process.call``: a function in a child process, its result or one-line error, and a
child stopped with every process it started (on a timeout or Ctrl-C)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from casekit import _process

psutil = pytest.importorskip("psutil")

#: The target functions, in a module of their own that only the child imports.
FUNCTIONS = '''
import os, subprocess, sys, time
from pathlib import Path

from casekit import _process


def add(a, b):
    return {"sum": a + b, "both": [a, b]}


def fails():
    raise ValueError("no good")


def refuses():
    raise _process.Failure("01-x.ipynb: NameError: name 'x' is not defined")


def dies():
    os._exit(7)


def unserialisable():
    return object()


def variable(name):
    return os.environ.get(name)


def session():
    return os.getsid(0)


def talks():
    print("said on stdout", flush=True)
    print("said on stderr", file=sys.stderr, flush=True)
    return 1


def spawns(pid_file, own_session):
    """Start a grandchild that would sleep for ten minutes (in a session of its own, as a
    Jupyter kernel is, or in this process's group), name it, then sleep too."""
    grandchild = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=own_session
    )
    Path(pid_file).write_text(str(grandchild.pid))
    time.sleep(600)
'''


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """This environment, with the module of target functions importable."""
    (tmp_path / "child_functions.py").write_text(FUNCTIONS, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def test_the_result_comes_back(env: dict[str, str]) -> None:
    assert _process.call("child_functions:add", {"a": 2, "b": 3}, env=env) == {"sum": 5, "both": [2, 3]}


def test_an_exception_is_one_line_with_its_type_and_a_failure_is_its_text(env: dict[str, str]) -> None:
    with pytest.raises(_process.ChildFailed, match=r"^ValueError: no good$"):
        _process.call("child_functions:fails", env=env, quiet=True)
    with pytest.raises(_process.ChildFailed) as failed:
        _process.call("child_functions:refuses", env=env, quiet=True)
    assert str(failed.value) == "01-x.ipynb: NameError: name 'x' is not defined"
    with pytest.raises(_process.ChildFailed, match=r"^TypeError: Object of type object is not JSON"):
        _process.call("child_functions:unserialisable", env=env, quiet=True)
    with pytest.raises(_process.ChildFailed, match=r"^ModuleNotFoundError: No module named 'no_such'$"):
        _process.call("no_such:function", env=env, quiet=True)


def test_a_child_that_dies_without_a_response_is_named_with_its_status(env: dict[str, str]) -> None:
    with pytest.raises(_process.ChildFailed, match=r"^child_functions:dies exited with status 7 "):
        _process.call("child_functions:dies", env=env)


def test_a_target_names_a_module_and_a_function() -> None:
    with pytest.raises(ValueError, match=r"^target must be 'package\.module:function'; got 'os\.getcwd'$"):
        _process.call("os.getcwd")


def test_env_is_the_child_environment(env: dict[str, str]) -> None:
    request = {"name": "CASEKIT_PROCESS_TEST"}
    assert _process.call("child_functions:variable", request, env={**env, "CASEKIT_PROCESS_TEST": "x"}) == "x"
    assert _process.call("child_functions:variable", request, env=env) is None


@pytest.mark.skipif(sys.platform == "win32", reason="sessions are POSIX")
def test_the_child_runs_in_a_session_of_its_own(env: dict[str, str]) -> None:
    """So a terminal's Ctrl-C, sent to the foreground process group, reaches only the parent."""
    assert _process.call("child_functions:session", env=env) != os.getsid(0)


def test_quiet_discards_the_child_output(env: dict[str, str], capfd: pytest.CaptureFixture[str]) -> None:
    _process.call("child_functions:talks", env=env)
    heard = capfd.readouterr()
    assert "said on stdout" in heard.out and "said on stderr" in heard.err
    _process.call("child_functions:talks", env=env, quiet=True)
    assert capfd.readouterr() == ("", "")


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a killed process not yet reaped by its new parent does not)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _grandchild(pid_file: Path, deadline: float = 30) -> int:
    """The grandchild's pid, once the child has written it."""
    stop = time.monotonic() + deadline
    while not pid_file.is_file() or not pid_file.read_text():
        assert time.monotonic() < stop, "the child did not start its grandchild"
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    assert _alive(pid)
    return pid


def _gone_soon(pid: int) -> bool:
    """Whether ``pid`` stops running within a couple of seconds."""
    stop = time.monotonic() + 3
    while _alive(pid) and time.monotonic() < stop:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids to kill after the test whatever happened, so a failed test leaves no sleeper."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass


def test_a_timeout_stops_the_child_and_its_grandchild_in_another_session(
    env: dict[str, str], tmp_path: Path, reap: list[int]
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    with pytest.raises(_process.ChildFailed, match=r"^child_functions:spawns did not finish within 3 s"):
        _process.call(
            "child_functions:spawns", {"pid_file": str(pid_file), "own_session": True}, env=env, timeout=3
        )
    assert time.monotonic() - started < 30
    pid = int(pid_file.read_text())
    reap.append(pid)
    assert _gone_soon(pid)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT and process groups are POSIX")
def test_ctrl_c_stops_the_child_and_its_grandchild_then_is_raised_again(
    env: dict[str, str], tmp_path: Path, reap: list[int]
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    seen: list[int] = []

    def interrupt() -> None:
        seen.append(_grandchild(pid_file))
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as the terminal sends it to the parent

    # Ctrl-C raises KeyboardInterrupt only under Python's default SIGINT handler: a shell
    # ignores SIGINT in its background jobs (CI runs `make test` like that) and Python then
    # keeps ignoring it, so the test sets the handler a terminal's Python would have.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Thread(target=interrupt)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            _process.call(
                "child_functions:spawns",
                {"pid_file": str(pid_file), "own_session": True},
                env=env,
                timeout=60,
            )
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    reap.extend(seen)
    assert seen and _gone_soon(seen[0])


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_without_psutil_the_child_process_group_is_stopped(
    env: dict[str, str], tmp_path: Path, reap: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_process, "_psutil", lambda: None)
    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(_process.ChildFailed, match="did not finish within 3 s"):
        _process.call(
            "child_functions:spawns", {"pid_file": str(pid_file), "own_session": False}, env=env, timeout=3
        )
    pid = int(pid_file.read_text())
    reap.append(pid)
    assert _gone_soon(pid)
