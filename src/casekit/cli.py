"""The ``casekit`` command: ``casekit run`` executes chapters, ``casekit build`` renders the book."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from casekit import _process, _runtime, profiles
from casekit.book import pipeline
from casekit.checks import checkup
from casekit.claims import ledger
from casekit.testing import regression
from casekit.tools import bench


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="execute chapters with papermill into build/executed/")
    run.add_argument("--profile", help=f"one of {', '.join(profiles.PROFILES)} (default: the notebook's)")
    run.add_argument(
        "--only",
        action="append",
        metavar="CHAPTER",
        help="a chapter number such as 01, or its file name; repeatable",
    )
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a parameter declared in the chapter's parameters cell",
    )
    run.add_argument(
        "--update",
        action="store_true",
        help="after a successful run, replace the stored chapter (default profile only)",
    )
    run.add_argument("--no-progress", action="store_true", help="hide papermill's per-cell progress bar")
    run.add_argument(
        "--backend",
        help="the Keras backend: tensorflow (default; it writes the stored outputs) or jax; "
        "output goes to build/executed-<backend>/ for jax",
    )

    build = commands.add_parser("build", help="render the HTML book with Jupyter Book (no execution)")
    build.add_argument(
        "--executed",
        action="store_true",
        help="render build/executed/ notebooks where present instead of the stored ones",
    )
    build.add_argument("--no-strict", action="store_true", help="do not treat Sphinx warnings as errors")
    bench = commands.add_parser("bench", help="time plain model.fit against casekit's training paths")
    bench.add_argument("--output", type=Path, help="also save the measurements as JSON here")
    bench.add_argument(
        "--backend",
        action="append",
        help="a Keras backend to measure (tensorflow or jax); repeatable; default: every installed one",
    )

    ledger = commands.add_parser(
        "ledger", help="print every claim's verdict and evidence from the stored chapters"
    )
    ledger.add_argument("--json", action="store_true", help="print JSON records instead of text")
    ledger.add_argument("--executed", action="store_true", help="read build/executed/ instead of chapters/")
    doctor = commands.add_parser(
        "diagnose",
        help="the book's checks on a saved Keras model (exit 0: no findings, 1: findings, 2: bad input)",
    )
    doctor.add_argument("model", type=Path, help="a model saved with model.save('name.keras')")
    doctor.add_argument(
        "--data", help="'mnist' (the offline digits) or a .npz file: also measure the model on it"
    )
    doctor.add_argument("--json", action="store_true", help="print JSON instead of text")

    record = commands.add_parser(
        "evidence", help="save the evidence records of build/executed/ chapters (for tests/data)"
    )
    record.add_argument("--output", type=Path, required=True, help="the JSON file to write")
    return parser


def _save_evidence(project: pipeline.Project, output: Path) -> None:
    import json
    import os

    chapters = {
        path.name: regression.evidence_outputs(ledger.read_notebook(path))
        for path in sorted(project.executed.glob("[0-9][0-9]-*.ipynb"))
    }
    if not chapters:
        raise FileNotFoundError(f"no executed chapters in {project.executed}; run `casekit run` first")
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "default")
    output.write_text(
        json.dumps({"ONEDNN_MAX_CPU_ISA": isa, "chapters": chapters}, indent=1, ensure_ascii=False) + "\n"
    )
    print(f"evidence of {len(chapters)} chapter(s) saved to {output}")


def _diagnose(path: Path, data_source: str | None, as_json: bool) -> int:
    import json

    model = checkup.load_model(path)
    x = None if data_source is None else checkup.load_data(data_source, model)
    result = checkup.check(model, path.name, x)
    print(json.dumps(result.to_json(), indent=2) if as_json else result)
    return 1 if result.findings else 0


def _print_ledger(project: pipeline.Project, as_json: bool, executed: bool) -> None:
    import json

    records = ledger.collect(project.executed if executed else project.chapters)
    if as_json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return
    for record in records:
        distance = (
            "" if record["distance_se"] is None else f", {record['distance_se']:.1f} SE from its threshold"
        )
        print(f"{record['id']} [{record['label']}{distance}] {record['quote']}")
        for item in record["evidence"]:
            ci = f" (95% CI ± {item['ci']})" if item["ci"] else ""
            print(f"    {item['name']}: {item['value']}{ci}  [{item['chapter']}]")


def main(argv: Sequence[str] | None = None) -> int:
    # The command is the book's own process: its measurements (bench, diagnose --data)
    # use the book's session, as the chapters' kernels do.
    _runtime.setup_book_session()
    args = _parser().parse_args(argv)
    try:
        if args.command == "diagnose":  # works anywhere, not only in a casekit project
            return _diagnose(args.model, args.data, args.json)
        project = pipeline.find_project()
        if args.command == "run":
            overrides = {name: pipeline.parse_value(value) for name, value in args.parameter}
            if args.profile is not None:
                overrides["profile"] = args.profile
            chapters = pipeline.select(project, args.only)
            timings = pipeline.execute(
                project,
                chapters,
                overrides,
                update=args.update,
                progress=not args.no_progress,
                backend=args.backend,
            )
            total = sum(seconds for _, seconds in timings)
            print(f"{len(timings)} chapter(s) executed in {total:.0f} s")
        elif args.command == "bench":
            bench.main(args.output, args.backend)
        elif args.command == "evidence":
            _save_evidence(project, args.output)
        elif args.command == "ledger":
            _print_ledger(project, args.json, args.executed)
        else:
            index = pipeline.build_book(project, executed=args.executed, strict=not args.no_strict)
            print(f"Book: {index}")
    except KeyboardInterrupt:
        # with --update, chapters that finished before the interrupted one are stored already
        stored = "; the chapter that was running was not stored" if args.command == "run" else ""
        print(f"casekit: interrupted{stored}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, pipeline.ChapterFailed, _process.ChildFailed) as error:
        print(f"casekit: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
