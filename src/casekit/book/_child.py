"""Run one chapter through papermill in a process of its own (see ``pipeline.execute``).

``casekit run`` starts this module in a new session, so the terminal's Ctrl-C reaches only
``casekit run``, which then stops this process and its kernel together and reports the
interruption in one line. Usage: ``python -m casekit.book._child REQUEST.json``; a failing cell
is reported as ``ename: evalue`` in the request's ``error_file`` with exit status 3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(request_file: str) -> int:
    import papermill

    request = json.loads(Path(request_file).read_text(encoding="utf-8"))
    try:
        papermill.execute_notebook(
            request["input"],
            request["output"],
            parameters=request["parameters"],
            kernel_name="python3",
            progress_bar=request["progress"],
            cwd=request["cwd"],
        )
    except papermill.PapermillExecutionError as error:
        Path(request["error_file"]).write_text(f"{error.ename}: {error.evalue}", encoding="utf-8")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
