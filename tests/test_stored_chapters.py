"""Chapters that read other chapters find them without the working directory.

The ledger (chapter 5) and the backend page (chapter 6) read stored chapters through
:func:`casekit.book.pipeline.stored_chapters`: from the project ``casekit run`` runs, from the
checkout or repository casekit was installed from, never from the folder the notebook sits
in (a chapter opened from its Colab button is alone in an empty folder).
"""

from __future__ import annotations

import importlib.util
import io
import json
import urllib.error
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, minimal_project

from casekit import _runtime
from casekit.book import pipeline
from casekit.claims import ledger

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
COMMIT = "0123456789abcdef0123456789abcdef01234567"
INSTALLED = metadata.distribution("casekit")


@pytest.fixture
def no_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither the runner's nor the install cell's variable set; downloads cached under tmp."""
    monkeypatch.delenv(pipeline.CHAPTERS_ENV, raising=False)
    monkeypatch.delenv(pipeline.SOURCE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


class _Distribution:
    """What chapter_source reads of an installed casekit: pip's direct_url.json and metadata."""

    def __init__(self, direct_url: dict[str, Any] | None) -> None:
        self.direct_url = direct_url
        self.metadata = INSTALLED.metadata

    def read_text(self, name: str) -> str | None:
        return json.dumps(self.direct_url) if name == "direct_url.json" and self.direct_url else None


def _installed_from(monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, Any] | None) -> None:
    monkeypatch.setattr(metadata, "distribution", lambda name: _Distribution(direct_url))


def _repository() -> str:
    entries = INSTALLED.metadata.get_all("Project-URL") or []
    return str(dict(entry.split(", ", 1) for entry in entries)["Repository"])


@pytest.mark.usefixtures("no_location")
def test_a_checkout_casekit_was_installed_from_is_read_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed_from(monkeypatch, {"url": ROOT.as_uri(), "dir_info": {"editable": True}})
    assert pipeline.chapter_source() == pipeline.ChapterSource(directory=ROOT / "chapters")
    assert pipeline.stored_chapters(ledger.chapters_read()) == ROOT / "chapters"


@pytest.mark.usefixtures("no_location")
def test_a_git_install_reads_the_commit_it_was_installed_at(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"git+{_repository()}"
    _installed_from(monkeypatch, {"url": url, "vcs_info": {"vcs": "git", "commit_id": COMMIT}})
    source = pipeline.chapter_source()
    assert source == pipeline.ChapterSource(repository=_repository(), ref=COMMIT)
    owner_and_name = _repository().removeprefix("https://github.com/")
    assert source.raw_url("02-ordering") == (
        f"https://raw.githubusercontent.com/{owner_and_name}/{COMMIT}/chapters/02-ordering.ipynb"
    )


@pytest.mark.usefixtures("no_location")
def test_without_a_record_the_repository_in_the_metadata_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed_from(monkeypatch, None)
    assert pipeline.chapter_source() == pipeline.ChapterSource(repository=_repository(), ref="HEAD")


def test_the_variables_come_first_the_runner_s_before_the_install_cell_s(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(pipeline.SOURCE_ENV, str(ROOT))
    assert pipeline.chapter_source().directory == ROOT / "chapters"
    monkeypatch.setenv(pipeline.CHAPTERS_ENV, str(tmp_path))
    assert pipeline.chapter_source().directory == tmp_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "git+https://github.com/someone/fork@topic",
            pipeline.ChapterSource(repository="https://github.com/someone/fork", ref="topic"),
        ),
        (
            "https://github.com/someone/fork.git",
            pipeline.ChapterSource(repository="https://github.com/someone/fork", ref="HEAD"),
        ),
        ("file:///srv/check%20out", pipeline.ChapterSource(directory=Path("/srv/check out/chapters"))),
    ],
)
def test_install_sources_are_read_as_chapter_sources(text: str, expected: pipeline.ChapterSource) -> None:
    assert pipeline.parse_source(text) == expected


def test_an_unusable_source_is_an_error_that_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="expected a local checkout, a file:// URL or a GitHub URL"):
        pipeline.parse_source("https://example.org/casekit.tar.gz")


def test_a_missing_local_chapter_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no stored chapter 02-ordering in"):
        pipeline.stored_chapters(["02-ordering"], pipeline.ChapterSource(directory=tmp_path))


class _Response(io.BytesIO):
    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.mark.usefixtures("no_location")
def test_a_commit_s_chapters_are_downloaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []

    def urlopen(url: str, timeout: float) -> _Response:
        fetched.append(url)
        name = url.rsplit("/", 1)[1]
        return _Response((ROOT / "chapters" / name).read_bytes())

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    source = pipeline.ChapterSource(repository=_repository(), ref=COMMIT)
    names = ledger.chapters_read()
    folder = pipeline.stored_chapters(names, source)
    assert folder.name == "chapters" and folder != ROOT / "chapters"
    assert fetched == [source.raw_url(name) for name in names]
    for name in names:
        assert (folder / f"{name}.ipynb").read_bytes() == (ROOT / "chapters" / f"{name}.ipynb").read_bytes()
    assert ledger.collect(folder) == ledger.collect(ROOT / "chapters")
    assert pipeline.stored_project(names, source).chapters == folder
    assert len(fetched) == len(names), "a commit's chapters are downloaded once"
    moving = pipeline.ChapterSource(repository=_repository(), ref="HEAD")
    pipeline.stored_chapters(names[:1], moving)
    pipeline.stored_chapters(names[:1], moving)
    assert fetched[len(names) :] == [moving.raw_url(names[0])] * 2, "a branch moves: fetched each time"


@pytest.mark.usefixtures("no_location")
def test_a_failed_download_names_the_chapter_and_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def urlopen(url: str, timeout: float) -> _Response:
        raise urllib.error.URLError("offline")

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    source = pipeline.ChapterSource(repository=_repository(), ref=COMMIT)
    with pytest.raises(
        FileNotFoundError, match=r"could not download the stored chapter 02-ordering .*CASEKIT_SOURCE"
    ):
        pipeline.stored_chapters(["02-ordering"], source)


def test_the_ledger_reads_the_chapters_it_names() -> None:
    assert set(ledger.chapters_read()) == {
        path.stem for path in CHAPTERS if path.stem.split("-", 1)[0] in {"00", "01", "02", "03", "04", "05"}
    }


def test_kernels_start_with_the_book_session_and_the_stored_chapters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``casekit run`` sets the book's variables (where unset) and the stored chapters' folder
    for its kernels; a value already set is kept."""
    for name in _runtime.BOOK_SESSION_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    names = [*_runtime.BOOK_SESSION_ENV, pipeline.CHAPTERS_ENV]
    body = f"import json, os\nprint(json.dumps({{n: os.environ.get(n) for n in {names!r}}}))"
    minimal_project(tmp_path, body, "01-env.ipynb")
    project = pipeline.Project(tmp_path)
    pipeline.execute(project, project.chapter_files(), {}, progress=False)
    executed = json.loads((project.executed / "01-env.ipynb").read_text())
    seen = json.loads("".join(executed["cells"][-1]["outputs"][0]["text"]))
    assert seen == {
        **_runtime.BOOK_SESSION_ENV,
        "TF_CPP_MIN_LOG_LEVEL": "1",
        pipeline.CHAPTERS_ENV: str(project.chapters),
    }


def test_running_chapters_without_papermill_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "papermill" else real(name, *a)
    )
    with pytest.raises(pipeline.UsageError, match=r"needs papermill.*pip install papermill"):
        pipeline.execute(pipeline.Project(tmp_path), [], {}, progress=False)


@pytest.mark.usefixtures("no_location")
def test_without_an_installed_casekit_the_error_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(ValueError, match=f"set {pipeline.SOURCE_ENV} to a checkout"):
        pipeline.chapter_source()
