"""``osasis-bench`` / ``python -m benchmark``: one subcommand per pipeline stage, plus listings.

Logs and progress bars go to stderr; results go to the files named on the command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from benchmark import progress
from benchmark.dryrun import costs  # imported first: its clock starts with the command
from benchmark.errors import BenchmarkError

log = logging.getLogger("osasis-bench")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2), like the suite's named errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def seed_int(text: str) -> int:
    """An argparse type: a seed, a whole number in [0, 2**32)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{value} must be between 0 and 2**32 - 1")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="parameter file (active profile)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (default: params 'device')")
    parser.add_argument("--seed", type=seed_int, default=None, help="override the profile seed")


def _cmd_methods(args: argparse.Namespace) -> int:
    from benchmark.methods import METHODS

    for name in METHODS.names():
        cls = METHODS.get(name)
        print(f"{name:28s} device={cls.device_requirement:4s} {cls.description}")
    return 0


def _cmd_metrics(args: argparse.Namespace) -> int:
    from benchmark.metrics.evaluate import describe_metrics

    rows = describe_metrics()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        arrow = "↓" if row["direction"] == "lower" else "↑"
        lo, hi = row["range"]
        print(f"{row['name']:26s} {arrow} range [{lo}, {hi}]  {row['protocol']}")
    return 0


def _cmd_assets(args: argparse.Namespace) -> int:
    from benchmark.assets import asset_state, manifest

    rows = []
    for asset in manifest().values():
        if args.profile and args.profile not in asset.profiles:
            continue
        state, path = asset_state(asset) if args.check else ("not checked", None)
        policy = asset.extra.get("checksum_policy")
        licence = asset.license + (f"; checksum: {policy}" if policy else "")
        rows.append((asset.name, ",".join(asset.profiles), state, str(path or asset.file), licence))
    width = max((len(r[0]) for r in rows), default=10)
    for name, profiles, state, path, licence in rows:
        print(f"{name:{width}s}  {profiles:12s} {state:18s} {path}  [{licence}]")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from benchmark.fetch import fetch_main

    report = fetch_main(args)
    log.info("fetch: %d assets ready, %d unpinned", len(report.outcomes), len(report.unpinned()))
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from benchmark.stages.prepare import run_prepare

    run_prepare(params_path=args.params, out=args.out, split_file=args.split_file)
    return 0


def _cmd_finetune(args: argparse.Namespace) -> int:
    from benchmark.stages.finetune import run_finetune

    run_finetune(args.method, args.reference, args.workdir, params_path=args.params, device=args.device, seed=args.seed)
    return 0


def _cmd_stylize(args: argparse.Namespace) -> int:
    from benchmark.stages.stylize import run_stylize

    run_stylize(args.method, args.reference, args.workdir, inputs=args.inputs, out=args.out, params_path=args.params,
                device=args.device, seed=args.seed, batch_size=args.batch_size)  # fmt: skip
    return 0


def _cmd_edit(args: argparse.Namespace) -> int:
    from osasis.method.api import edit_images

    edit_images(args.workdir, args.reference, args.inputs, args.out, args.source, args.target, method=args.method,
                params_path=args.params, device=args.device, seed=args.seed, batch_size=args.batch_size)  # fmt: skip
    return 0


def _cmd_text_edit(args: argparse.Namespace) -> int:
    from benchmark.stages.text_edit import run_text_edits

    record = run_text_edits(args.params, args.out, device=args.device, seed=args.seed)
    print(f"{len(record['edits'])} edit(s) written to {args.out}" + (f" ({record['note']})" if record["note"] else ""))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from benchmark.stages.evaluate import run_evaluate_cell, run_evaluate_folders

    if args.method:
        run_evaluate_cell(args.method, args.reference, params_path=args.params, out=args.out, device=args.device)
        return 0
    if args.reference:
        raise BenchmarkError("--reference needs --method (pipeline mode)")
    if not (args.content and args.stylized):
        raise BenchmarkError("evaluate needs --content and --stylized (or --method/--reference for a pipeline cell)")
    run_evaluate_folders(content=args.content, stylized=args.stylized, style=args.style, metrics=args.metrics,
                         out=args.out, ground_truth=args.ground_truth, device=args.device or "cpu",
                         resolution=args.resolution, seed=args.seed or 0,
                         random_weights=args.random_weights)  # fmt: skip
    return 0


def _cmd_aggregate(args: argparse.Namespace) -> int:
    from benchmark.stages.aggregate import run_aggregate

    run_aggregate(metrics_dir=args.metrics_dir, models_dir=args.models_dir, stylized_dir=args.stylized_dir,
                  out=args.out, params_path=args.params)  # fmt: skip
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from benchmark.report.build import build_report

    build_report(tidy_csv=args.tidy, params_path=args.params, out_dir=args.out)
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from benchmark.submission.submit import run_submit

    record = run_submit(args.name, args.folder, args.out or Path("results/submissions") / args.name,
                        params_path=args.params, device=args.device, validate_only=args.validate_only)  # fmt: skip
    log.info("submission %s: %d files %s", args.name, record["n_files"],
             "valid" if args.validate_only else "evaluated; run the report stage to rank it")  # fmt: skip
    return 0


def _cmd_use_profile(args: argparse.Namespace) -> int:
    from benchmark.params import use_profile

    changed = use_profile(args.name, args.params)
    log.info("profile %s %s", args.name, "activated (params.yaml rewritten)" if changed else "already active")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmark.runner import run_from_args

    return run_from_args(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="osasis-bench", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="disable progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter

    p = sub.add_parser("methods", help="list registered stylization methods", formatter_class=fmt)
    p.set_defaults(func=_cmd_methods)

    p = sub.add_parser("metrics", help="list registered metrics (name, direction, range, protocol)",
                       formatter_class=fmt)  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_metrics)

    p = sub.add_parser("assets", help="list the asset manifest with the state of each file", formatter_class=fmt)
    p.add_argument("--profile", choices=["paper", "smoke"], default=None, help="only assets of this profile")
    p.add_argument("--no-check", dest="check", action="store_false", help="skip checksum verification")
    p.set_defaults(func=_cmd_assets)

    p = sub.add_parser("use-profile", help="make profiles/NAME.yaml the active params.yaml", formatter_class=fmt)
    p.add_argument("name", help="profile name (smoke or paper)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="the active parameter file")
    p.set_defaults(func=_cmd_use_profile)

    from benchmark.fetch import add_arguments as add_fetch_arguments

    p = sub.add_parser("fetch", help="download and verify the assets of a profile", formatter_class=fmt)
    add_fetch_arguments(p)
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("prepare", help="build the evaluation splits and references", formatter_class=fmt)
    _common(p)
    p.add_argument("--out", type=Path, default=Path("data/prepared"), help="output folder")
    p.add_argument("--split-file", type=Path, default=None, help="committed density-split record (JSON)")
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("finetune", help="prepare a method for one style reference", formatter_class=fmt)
    _common(p)
    p.add_argument("method", help="registered method name")
    p.add_argument("--reference", type=Path, required=True, help="style reference image")
    p.add_argument("--workdir", type=Path, required=True, help="where the fine-tuned state goes")
    p.set_defaults(func=_cmd_finetune)

    p = sub.add_parser("stylize", help="stylize input folders with a prepared method", formatter_class=fmt)
    _common(p)
    p.add_argument("method", help="registered method name")
    p.add_argument("--reference", type=Path, required=True, help="style reference image")
    p.add_argument("--workdir", type=Path, required=True, help="the method's fine-tuned state")
    p.add_argument("--inputs", type=Path, action="append", required=True,
                   help="input folder (repeatable; each goes to OUT/<folder name>)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--batch-size", type=positive_int, default=None, help="images per batch")
    p.set_defaults(func=_cmd_stylize)

    p = sub.add_parser("edit", help="OSASIS text-driven editing + stylization of a folder", formatter_class=fmt)
    _common(p)
    p.add_argument("--method", default="osasis", help="pipeline entry (osasis or a variant) in the params file")
    p.add_argument("--workdir", type=Path, required=True, help="the fine-tuned OSASIS state (finetune --workdir)")
    p.add_argument("--reference", type=Path, required=True, help="style reference image")
    p.add_argument("--inputs", type=Path, required=True, help="input image folder")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--source", default="a photo of a face", help="source text prompt")
    p.add_argument("--target", required=True, help="target text prompt")
    p.add_argument("--batch-size", type=positive_int, default=None, help="images per batch")
    p.set_defaults(func=_cmd_edit)

    p = sub.add_parser("text-edit", help="the profile's text_edit section: one folder per edit (paper Fig. 7)",
                       formatter_class=fmt)  # fmt: skip
    _common(p)
    p.add_argument("--out", type=Path, default=Path("results/edits"), help="output folder")
    p.set_defaults(func=_cmd_text_edit)

    p = sub.add_parser("evaluate", help="compute metrics on folders or on a pipeline cell", formatter_class=fmt)
    _common(p)
    p.add_argument("--content", type=Path, help="content (input) images")
    p.add_argument("--stylized", type=Path, help="stylized images, PNG, named like the content images")
    p.add_argument("--style", type=Path, default=None, help="style reference image or folder")
    p.add_argument("--ground-truth", type=Path, default=None, help="ground-truth stylizations (optional)")
    p.add_argument("--metrics", default="lpips-alex,ssim", help="comma-separated metric names")
    p.add_argument("--resolution", type=positive_int, default=256, help="evaluation resolution")
    p.add_argument("--random-weights", action="store_true",
                   help="allow seeded random weights for networks whose files are missing (flagged in results)")
    p.add_argument("--method", default=None, help="pipeline mode: method name")
    p.add_argument("--reference", default=None,
                   help="pipeline mode: one reference (default: every reference; --out is then a folder)")
    p.add_argument("--out", type=Path, required=True, help="output JSON (or folder in pipeline mode)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("aggregate", help="collect metric JSONs and costs into a tidy CSV", formatter_class=fmt)
    _common(p)
    p.add_argument("--metrics-dir", type=Path, default=Path("results/metrics"))
    p.add_argument("--models-dir", type=Path, default=Path("results/models"))
    p.add_argument("--stylized-dir", type=Path, default=Path("results/stylized"))
    p.add_argument("--out", type=Path, default=Path("results/tidy.csv"))
    p.set_defaults(func=_cmd_aggregate)

    p = sub.add_parser("report", help="tables, figures and the leaderboard from the tidy CSV", formatter_class=fmt)
    _common(p)
    p.add_argument("--tidy", type=Path, default=Path("results/tidy.csv"))
    p.add_argument("--out", type=Path, default=Path("reports"))
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("submit", help="validate and evaluate a results-only submission (a folder of PNGs)",
                       formatter_class=fmt)  # fmt: skip
    _common(p)
    p.add_argument("--name", required=True, help="submission name (lower-case slug; its leaderboard row)")
    p.add_argument("--folder", type=Path, required=True, help="<folder>/<reference>/<split>/<input stem>.png")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/submissions/NAME)")
    p.add_argument("--validate-only", action="store_true", help="only check the folder against the protocol")
    p.set_defaults(func=_cmd_submit)

    from benchmark.runner import add_arguments as add_run_arguments

    p = sub.add_parser("dryrun", help="the paper profile's pipeline at full size with random weights (not a result)",
                       formatter_class=fmt)  # fmt: skip
    p.add_argument("--workspace", type=Path, default=None,
                   help="dry-run workspace (default: $OSASIS_BENCH_CACHE/dryrun); several GB")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the random weights and procedural data")
    p.add_argument("--costs-out", type=Path, default=None,
                   help="also write the per-stage cost table here (.json, plus a .md beside it)")
    p.add_argument("--keep-served", action="store_true",
                   help="keep the served random-weight files (~20 GB) for the next dry run instead of deleting them "
                        "after the fetch stage")  # fmt: skip
    p.set_defaults(func=_cmd_dryrun)

    p = sub.add_parser("run", help="reproduce the DVC pipeline in parallel (local GPUs, Slurm or Ray)",
                       formatter_class=fmt)  # fmt: skip
    add_run_arguments(p)
    p.set_defaults(func=_cmd_run)
    return parser


def _cmd_dryrun(args: argparse.Namespace) -> int:
    from benchmark.assets import cache_dir
    from benchmark.atomic import check_output_file
    from benchmark.dryrun.run import run_dryrun, write_cost_table

    if args.costs_out is not None:
        check_output_file(args.costs_out, option="--costs-out")
        check_output_file(args.costs_out.with_suffix(".md"), option="--costs-out (.md beside it)", suffixes=(".md",))
    result = run_dryrun(args.workspace or cache_dir() / "dryrun", seed=args.seed, keep_served=args.keep_served)
    log.info("dry run complete in %.0f s (%d stages); products in %s", result.seconds, len(result.costs),
             result.project)  # fmt: skip
    if args.costs_out is not None:
        for path in write_cost_table(result, args.costs_out):
            log.info("wrote %s", path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    if args.no_progress:
        progress.set_enabled(False)
    code = run_command(args)
    costs.record_command(args.command, code)
    return code


USER_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def run_command(args: argparse.Namespace) -> int:
    """The one place that turns the suite's named errors into exit code 2 (one ``ERROR`` line, no traceback).

    A missing, unreadable or wrongly typed file named by the user counts as such an error too; any other
    exception is a bug of the suite and keeps its traceback.
    """
    try:
        return int(args.func(args) or 0)
    except BenchmarkError as exc:
        log.error("%s", exc)
        return 2
    except USER_OS_ERRORS as exc:
        if exc.filename is None:
            raise
        log.error("%s: %s", exc.filename, exc.strerror or exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted; no partial output was left in place")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
