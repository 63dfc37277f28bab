"""Run one function in a child Python process, and stop the child with everything it started.

casekit needs a fresh interpreter in three places: a chapter's papermill run (whose Jupyter
kernel is a further process, in a session of its own), and the backend checks and the
benchmark, which import Keras under another backend than the caller's (Keras fixes its
backend when it is imported). :func:`call` is the one way they start it::

    result = _process.call("casekit.tools.bench:run", {}, env={**os.environ, "KERAS_BACKEND": "jax"})

The child runs ``python -m casekit._process TARGET REQUEST.json RESPONSE.json``: it imports
``TARGET``'s module, calls ``function(**request)`` and writes ``{"result": ...}`` or
``{"error": "..."}`` (JSON) to the response file. The parent returns the result or raises
:class:`ChildFailed` with the child's error: the text of a :class:`Failure` as it is, any
other exception as ``TypeName: message``, or the exit status of a child that wrote nothing.

The child runs in a process group (POSIX: a session) of its own, so a terminal's Ctrl-C
reaches only the parent. On Ctrl-C, a timeout or any other exception while it waits, the
parent kills the child and every process below it, found with psutil where it is installed
(it is wherever ipykernel is), else through the child's process group (POSIX); then it
re-raises, or raises :class:`ChildFailed` for a timeout. Nothing here is Linux-only.

This module sits at the base of the layers: it imports only the standard library (and
psutil, when present, on first use); the target is named by a string and imported in the
child alone.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class ChildFailed(RuntimeError):
    """The function failed in the child process, or the child died or ran out of time; the
    message is the child's error, or says what happened to the child."""


class Failure(Exception):
    """Raised by a target function to have exactly its text reported (no type name)."""


def call(
    target: str,
    request: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    timeout: float | None = None,
) -> Any:
    """``function(**request)`` for ``target`` (``"package.module:function"``) in a child
    Python process, and its result; the request and the result must be JSON.

    ``env`` is the child's whole environment (default: this process's). With ``quiet`` the
    child's standard output and error are discarded; otherwise they pass through. After
    ``timeout`` seconds the child and everything it started are killed and
    :class:`ChildFailed` says so; on Ctrl-C they are killed and ``KeyboardInterrupt`` is
    re-raised.
    """
    module, _, function = target.partition(":")
    if not module or not function:
        raise ValueError(f"target must be 'package.module:function'; got {target!r}")
    with tempfile.TemporaryDirectory(prefix="casekit-") as scratch:
        request_file = Path(scratch) / "request.json"
        response_file = Path(scratch) / "response.json"
        request_file.write_text(json.dumps(dict(request or {})), encoding="utf-8")
        output = subprocess.DEVNULL if quiet else None
        child = subprocess.Popen(
            [sys.executable, "-m", "casekit._process", target, str(request_file), str(response_file)],
            env=None if env is None else dict(env),
            stdout=output,
            stderr=output,
            **_own_group(),
        )
        try:
            status = child.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(child)
            raise ChildFailed(
                f"{target} did not finish within {timeout:g} s; it was stopped, with every process "
                "it had started"
            ) from None
        except BaseException:  # Ctrl-C above all: nothing is left to run or print
            _stop(child)
            raise
        if not response_file.is_file():
            raise ChildFailed(f"{target} exited with status {status} without a result")
        response = json.loads(response_file.read_text(encoding="utf-8"))
    if "error" in response:
        raise ChildFailed(response["error"])
    return response["result"]


def _own_group() -> dict[str, Any]:
    """``Popen`` options that start the child in a process group of its own, away from the
    terminal's Ctrl-C."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _psutil() -> Any:
    """psutil, or ``None`` where it is not installed (typed ``Any``: it ships no types)."""
    try:
        return importlib.import_module("psutil")
    except ImportError:
        return None


def _stop(child: subprocess.Popen[Any]) -> None:
    """Kill ``child`` and every process below it (a Jupyter kernel runs in a session of its
    own, so the child's group alone would miss it) and wait until they are gone."""
    psutil = _psutil()
    below: list[Any] = []
    if psutil is not None:
        try:
            root = psutil.Process(child.pid)
            with contextlib.suppress(psutil.Error):
                root.suspend()  # it starts nothing more while its descendants are collected
            below = root.children(recursive=True)
        except psutil.Error:  # it is gone already, and what it started was handed on
            pass
        for process in below:
            try:
                process.kill()
            except psutil.Error:
                pass
    if sys.platform != "win32":
        try:  # the child leads its own session's process group
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    child.kill()
    child.wait()
    deadline = time.monotonic() + 5
    while below and time.monotonic() < deadline:
        time.sleep(0.02)
        below = [process for process in below if _running(psutil, process)]


def _running(psutil: Any, process: Any) -> bool:
    """Whether ``process`` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _run(target: str, request_file: str, response_file: str) -> int:
    """The child's side of :func:`call`: 0 when the function returned, 1 when it raised."""
    try:
        module, _, function = target.partition(":")
        request = json.loads(Path(request_file).read_text(encoding="utf-8"))
        result = getattr(importlib.import_module(module), function)(**request)
        response, status = json.dumps({"result": result}), 0
    except Failure as failure:
        response, status = json.dumps({"error": str(failure)}), 1
    except Exception as error:
        traceback.print_exc()  # the whole story, for whoever sees the child's output
        response, status = json.dumps({"error": f"{type(error).__name__}: {error}"}), 1
    staged = Path(f"{response_file}.tmp")
    staged.write_text(response, encoding="utf-8")
    os.replace(staged, response_file)  # a child killed while writing leaves no half response
    return status


def main(argv: Sequence[str]) -> int:
    """``python -m casekit._process TARGET REQUEST.json RESPONSE.json``."""
    if len(argv) != 3:
        print("usage: python -m casekit._process MODULE:FUNCTION REQUEST.json RESPONSE.json", file=sys.stderr)
        return 2
    return _run(*argv)


if __name__ == "__main__":
    # Through the imported module, not this __main__ copy of it: the Failure a target raises is
    # casekit._process.Failure, the class _run must catch.
    from casekit import _process

    sys.exit(_process.main(sys.argv[1:]))
