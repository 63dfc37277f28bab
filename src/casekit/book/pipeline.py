"""Execute chapters with papermill and render the book with Jupyter Book 1.x.

``casekit run`` checks everything it can before a kernel starts: the chapter names,
that every ``-p`` name is declared in the chapter's ``parameters`` cell, and every value
(through :func:`casekit.profiles.validate`). Chapters execute into ``build/executed/``
(``build/executed-<backend>/`` for a backend other than TensorFlow);
``--update`` then replaces the stored chapter atomically, and only after a run succeeded.
The kernels start with the book's session (:func:`casekit.setup_book_session`'s variables)
and with :data:`CHAPTERS_ENV` naming the project's stored chapters.

Chapters that read other chapters (the ledger, the backend page) find them with
:func:`stored_chapters`, never through the working directory: a chapter opened alone
from its Colab button sits in an empty folder.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casekit import _process, _runtime, profiles
from casekit.book import execution
from casekit.claims.ledger import read_notebook


class UsageError(ValueError):
    """A bad command line: reported as one line before anything runs."""


@dataclass(frozen=True)
class Project:
    """Where the chapters, book sources and build outputs live."""

    root: Path

    @property
    def chapters(self) -> Path:
        return self.root / "chapters"

    @property
    def book(self) -> Path:
        return self.root / "book"

    @property
    def executed(self) -> Path:
        return self.root / "build" / "executed"

    def executed_for(self, backend: str) -> Path:
        """Where ``casekit run`` writes: ``build/executed/`` for TensorFlow (the stored
        outputs' backend), ``build/executed-<backend>/`` for another."""
        return self.executed if backend == "tensorflow" else self.executed.with_name(f"executed-{backend}")

    @property
    def site_source(self) -> Path:
        return self.root / "build" / "book-src"

    @property
    def html(self) -> Path:
        return self.root / "build" / "html"

    def chapter_files(self) -> list[Path]:
        return sorted(self.chapters.glob("[0-9][0-9]-*.ipynb"))


def find_project(start: Path | None = None) -> Project:
    """The nearest directory at or above ``start`` holding ``chapters/`` and ``book/``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "chapters").is_dir() and (candidate / "book" / "_config.yml").is_file():
            return Project(candidate)
    raise UsageError(f"no casekit project (chapters/ and book/_config.yml) at or above {here}")


#: Set by ``casekit run`` for its kernels: the directory of the stored chapters of the project
#: it runs, which :func:`stored_chapters` reads first.
CHAPTERS_ENV = "CASEKIT_CHAPTERS"
#: Where a chapter's install cell installs casekit from (a local checkout or a git URL); the
#: stored chapters then come from the same place.
SOURCE_ENV = "CASEKIT_SOURCE"


@dataclass(frozen=True)
class ChapterSource:
    """Where the stored chapters are: a local ``chapters/`` directory, or a GitHub repository
    (``https://github.com/OWNER/NAME``) at ``ref`` (a commit, a branch or ``HEAD``)."""

    directory: Path | None = None
    repository: str | None = None
    ref: str = "HEAD"

    def raw_url(self, name: str) -> str:
        """The download address of ``chapters/<name>.ipynb`` in the repository."""
        if self.repository is None:
            raise ValueError("a local chapter source has no download address")
        owner_and_name = self.repository.removeprefix("https://github.com/")
        return f"https://raw.githubusercontent.com/{owner_and_name}/{self.ref}/chapters/{name}.ipynb"


def parse_source(text: str) -> ChapterSource:
    """A ``CASEKIT_SOURCE`` value (or pip's record of where casekit came from) as a chapter
    source: a local directory or ``file://`` URL of a checkout, or a GitHub URL (``git+``
    prefix and ``@ref`` suffix allowed)."""
    from urllib.parse import unquote, urlparse

    if text.startswith("file://"):
        return ChapterSource(directory=Path(unquote(urlparse(text).path)) / "chapters")
    url = text.removeprefix("git+")
    if url.startswith("https://github.com/"):
        ref = "HEAD"
        owner, _, rest = url.removeprefix("https://github.com/").partition("/")
        name, _, tail = rest.partition("@")
        if tail:
            ref = tail.split("#", 1)[0]
        name = name.split("#", 1)[0].removesuffix("/").removesuffix(".git")
        return ChapterSource(repository=f"https://github.com/{owner}/{name}", ref=ref)
    if Path(text).is_dir():
        return ChapterSource(directory=Path(text).resolve() / "chapters")
    raise ValueError(
        f"cannot read stored chapters from {text!r}: expected a local checkout, a file:// URL "
        "or a GitHub URL (git+https://github.com/OWNER/NAME[@REF])"
    )


def chapter_source() -> ChapterSource:
    """Where the stored chapters are, in order: :data:`CHAPTERS_ENV` (set by ``casekit run``);
    :data:`SOURCE_ENV` (what the install cell installed from); the source pip recorded
    for the installed casekit (a checkout, or a git commit); else the repository named in
    casekit's metadata, at its default branch."""
    from importlib import metadata

    if chapters := os.environ.get(CHAPTERS_ENV):
        return ChapterSource(directory=Path(chapters))
    if source := os.environ.get(SOURCE_ENV):
        return parse_source(source)
    try:
        distribution = metadata.distribution("casekit")
    except metadata.PackageNotFoundError:
        raise ValueError(
            f"casekit is not installed as a package, so where its chapters are is unknown; set "
            f"{SOURCE_ENV} to a checkout of the repository"
        ) from None
    recorded = json.loads(distribution.read_text("direct_url.json") or "{}")
    url = recorded.get("url", "")
    if "dir_info" in recorded and url.startswith("file://"):
        return parse_source(url)
    vcs = recorded.get("vcs_info", {})
    if vcs.get("vcs") == "git" and vcs.get("commit_id"):
        located = parse_source(url)
        if located.repository is not None:
            return ChapterSource(repository=located.repository, ref=vcs["commit_id"])
    urls = dict(entry.split(", ", 1) for entry in distribution.metadata.get_all("Project-URL") or [])
    return parse_source(urls["Repository"])


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "casekit"


def stored_chapters(names: Sequence[str], source: ChapterSource | None = None) -> Path:
    """A ``chapters/`` directory holding the stored chapters ``names`` (file stems), from
    ``source`` (default: :func:`chapter_source`), whatever the working directory.

    A repository's chapters are downloaded once per commit into ``~/.cache/casekit/``
    (again on each call for a branch, which moves). A missing chapter or a failed download
    is an error that names it.
    """
    import urllib.error
    import urllib.request

    source = source or chapter_source()
    if source.directory is not None:
        missing = [name for name in names if not (source.directory / f"{name}.ipynb").is_file()]
        if missing:
            raise FileNotFoundError(f"no stored chapter {', '.join(missing)} in {source.directory}")
        return source.directory
    assert source.repository is not None
    target = _cache_home() / source.repository.removeprefix("https://github.com/") / source.ref / "chapters"
    target.mkdir(parents=True, exist_ok=True)
    pinned = len(source.ref) == 40 and all(c in "0123456789abcdef" for c in source.ref)
    for name in names:
        path = target / f"{name}.ipynb"
        if pinned and path.is_file():
            continue
        url = source.raw_url(name)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                content = response.read()
        except (urllib.error.URLError, TimeoutError) as error:
            raise FileNotFoundError(
                f"could not download the stored chapter {name} from {url}: {error}; set "
                f"{SOURCE_ENV} to a local checkout of the repository"
            ) from None
        staged = path.with_name(f".{path.name}.tmp")
        staged.write_bytes(content)
        os.replace(staged, path)
    return target


def stored_project(names: Sequence[str], source: ChapterSource | None = None) -> Project:
    """The project around :func:`stored_chapters` (``names``), whose ``build/`` receives
    what runs from it: the checkout for a local source, the download cache otherwise."""
    return Project(stored_chapters(names, source).parent)


def parse_value(text: str) -> Any:
    """A ``-p`` value as a Python literal when it is one (``0``, ``0.5``, ``None``, ``[0.1]``),
    else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def select(project: Project, only: Sequence[str] | None) -> list[Path]:
    """Chapters matching ``--only`` (a number such as ``01`` or a file name), or all."""
    available = project.chapter_files()
    if not only:
        return available
    chosen: list[Path] = []
    for key in only:
        stem = Path(key).name.removesuffix(".ipynb")
        matches = [p for p in available if p.stem == stem or p.name.split("-", 1)[0] == stem]
        if not matches:
            names = ", ".join(p.name.split("-", 1)[0] for p in available)
            raise UsageError(f"unknown chapter {key!r}; available: {names} (or their file names)")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def preflight(chapters: Sequence[Path], overrides: Mapping[str, Any]) -> None:
    """Reject undeclared names and invalid values for every chapter before any kernel starts."""
    for notebook in chapters:
        declared = profiles.declared_parameters(read_notebook(notebook)["cells"], notebook.name)
        for name in overrides:
            if name not in declared:
                raise UsageError(
                    f"parameter {name!r} is not declared by {notebook.name}; declared: {', '.join(declared)}"
                )
        merged = {**declared, **overrides}
        profiles.resolve(**merged)


def _relative_metadata(notebook: Path, project: Project) -> None:
    """Store papermill's input/output paths relative to the project, not this machine."""
    content = json.loads(notebook.read_text(encoding="utf-8"))
    meta = content.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = os.path.relpath(meta[key], project.root)
    notebook.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def execute(
    project: Project,
    chapters: Sequence[Path],
    overrides: Mapping[str, Any],
    *,
    update: bool = False,
    progress: bool = True,
    backend: str | None = None,
    quiet: bool = False,
) -> list[tuple[str, float]]:
    """Run each chapter into ``build/executed`` (``build/executed-<backend>`` for a backend
    other than TensorFlow); with ``update``, replace the stored copy.

    ``backend`` is the Keras backend the kernels use (default: ``KERAS_BACKEND``, else
    TensorFlow); a backend other than TensorFlow writes to ``build/executed-<backend>/``
    and cannot ``update`` the stored chapters, whose outputs come from TensorFlow. With
    ``quiet`` the child processes' own output (papermill, kernel warnings) is discarded,
    as when a chapter runs other chapters; a failure is still reported.
    Ctrl-C stops the running chapter, its kernel and anything they started, and raises
    ``KeyboardInterrupt``; the interrupted chapter's stored copy is untouched (with
    ``update``, chapters that finished before it are stored already).
    """
    if update and overrides:
        raise UsageError(
            "--update stores the default-profile outputs only; drop --profile/-p "
            f"(got {', '.join(overrides)})"
        )
    backend = _runtime.check_backend(backend or os.environ.get("KERAS_BACKEND") or "tensorflow")
    if update and backend != "tensorflow":
        raise UsageError(f"--update stores TensorFlow outputs only; got backend {backend!r}")
    if importlib.util.find_spec("papermill") is None:
        raise UsageError(
            "executing chapters needs papermill, which is not installed here: "
            "pip install papermill (or casekit[book])"
        )
    preflight(chapters, overrides)
    executed = project.executed_for(backend)
    executed.mkdir(parents=True, exist_ok=True)
    timings = []
    for index, notebook in enumerate(chapters, 1):
        target = executed / notebook.name
        label = f"[{index}/{len(chapters)}] {notebook.name}"
        print(f"{label}: executing{' with ' + repr(dict(overrides)) if overrides else ''}", flush=True)
        started = time.perf_counter()
        _execute_one(
            notebook,
            target,
            overrides,
            progress=progress,
            cwd=project.chapters,
            backend=backend,
            quiet=quiet,
            stored=project.chapters,
        )
        elapsed = time.perf_counter() - started
        timings.append((notebook.name, elapsed))
        print(f"{label}: done in {elapsed:.0f} s -> {target.relative_to(project.root)}", flush=True)
        if update:
            _relative_metadata(target, project)
            staged = notebook.with_name(f".{notebook.name}.tmp")
            try:
                shutil.copyfile(target, staged)
                os.replace(staged, notebook)
            finally:
                staged.unlink(missing_ok=True)
            print(f"{label}: stored outputs updated", flush=True)
    return timings


def _execute_one(
    notebook: Path,
    target: Path,
    overrides: Mapping[str, Any],
    *,
    progress: bool,
    cwd: Path,
    backend: str = "tensorflow",
    quiet: bool = False,
    stored: Path | None = None,
) -> None:
    """Execute one chapter with :func:`run_papermill` in a child process of its own
    (:func:`casekit._process.call`), which Ctrl-C stops together with its kernel.

    The kernel inherits the child's environment: the book's session variables where unset
    (:func:`casekit._runtime.book_session_env`), ``backend`` as ``KERAS_BACKEND``, and
    ``stored`` (the project's stored chapters) as :data:`CHAPTERS_ENV`.
    """
    import tempfile

    env = {**_runtime.book_session_env(), "KERAS_BACKEND": backend}
    if stored is not None:
        env[CHAPTERS_ENV] = str(stored)
    # The kernel's connection file and sockets: removed here, even when the child was killed.
    with tempfile.TemporaryDirectory(prefix="casekit-kernel-") as runtime:
        try:
            _process.call(
                "casekit.book.pipeline:run_papermill",
                {
                    "input": str(notebook),
                    "output": str(target),
                    "parameters": dict(overrides),
                    "progress": progress,
                    "cwd": str(cwd),
                    "runtime": runtime,
                },
                env=env,  # the kernel inherits it
                quiet=quiet,
            )
        except _process.ChildFailed as error:
            raise ChapterFailed(f"{notebook.name} failed: {error}") from None


def run_papermill(
    input: str, output: str, parameters: dict[str, Any], progress: bool, cwd: str, runtime: str
) -> None:
    """Execute the notebook ``input`` into ``output`` with papermill (in the child process of
    :func:`_execute_one`); a failing cell is reported as ``ename: evalue``.

    On POSIX the kernel and papermill talk over local (IPC) sockets, not TCP: nothing else
    needs to reach the kernel, and over TCP ipykernel prints a warning that its traffic is
    unencrypted, which would break into ``casekit run``'s output (casekit's own lines only).
    The sockets and the connection file go in ``runtime``, a private directory the caller
    removes; left to itself, jupyter_client would put the sockets in the working directory
    (``chapters/``), where a killed kernel would leave them. Windows keeps TCP.
    """
    import papermill
    from traitlets.config import Config

    config = Config()
    if os.name == "posix":
        config = Config(
            {"KernelManager": {"transport": "ipc", "connection_file": os.path.join(runtime, "kernel.json")}}
        )
    try:
        papermill.execute_notebook(
            input,
            output,
            parameters=parameters,
            kernel_name="python3",
            progress_bar=progress,
            cwd=cwd,
            config=config,  # reaches nbclient's NotebookClient, which gives it to its KernelManager
        )
    except papermill.PapermillExecutionError as error:
        raise _process.Failure(f"{error.ename}: {error.evalue}") from None


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the stored chapter was left untouched."""


def stage_book(project: Project, *, executed: bool) -> Path:
    """Copy book sources and chapters (stored, or freshly executed) into one source tree."""
    source = project.site_source
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(project.book, source)
    (source / "chapters").mkdir()
    staged = []
    for notebook in project.chapter_files():
        fresh = project.executed / notebook.name
        target = source / "chapters" / notebook.name
        shutil.copyfile(fresh if executed and fresh.exists() else notebook, target)
        staged.append(target)
    report = execution.report_markdown(staged, benchmark=project.book / "benchmark.json")
    (source / "execution-report.md").write_text(report, encoding="utf-8")
    for data_file in ("benchmark.json", "benchmark-gpu.json"):  # data for the report, not pages
        (source / data_file).unlink(missing_ok=True)
    return source


def build_book(project: Project, *, executed: bool = False, strict: bool = True) -> Path:
    """Render the HTML book with Jupyter Book 1.x (execution off); return ``index.html``."""
    source = stage_book(project, executed=executed)
    output = project.root / "build"
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(source),
        "--path-output",
        str(output),
        "--builder",
        "html",
    ]
    if strict:
        command += ["-n", "-W", "--keep-going"]
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise ChapterFailed(f"jupyter-book build failed (exit {result.returncode}); see the log above")
    return output / "_build" / "html" / "index.html"
