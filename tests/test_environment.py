from __future__ import annotations

import re

from casekit.lab import environment


def test_device_is_cpu_here_or_a_named_accelerator() -> None:
    assert re.fullmatch(r"CPU|(GPU|TPU) \(.+\)", environment.device())


def test_versions_name_the_pinned_libraries() -> None:
    found = environment.versions()
    assert list(found) == ["python", "tensorflow", "keras", "numpy", "casekit"]
    assert re.fullmatch(r"3\.\d+", found["python"]) and found["casekit"] == "0.1.0"


def test_summary_is_one_line() -> None:
    line = environment.summary()
    assert "\n" not in line and line.startswith("Device: ") and "keras 3." in line
