"""What several test files share: the checkout's root and one way to run the ``casekit`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: The checkout the tests run in.
ROOT = Path(__file__).resolve().parents[1]
#: The ``casekit`` command this environment installed (next to its Python).
CASEKIT = str(Path(sys.executable).with_name("casekit"))


def casekit(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``casekit ARGS`` as a reader would, with ``env`` added to this environment."""
    return subprocess.run(
        [CASEKIT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
