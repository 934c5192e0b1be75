"""The fetch stage: download, resume, verify and place the manifest's weight and dataset files.

Public API: :func:`fetch_assets` (the library call), :func:`fetch_main` (what ``osasis-bench fetch`` runs),
:func:`add_arguments` (its argparse options), :class:`FetchReport` and :class:`FetchError`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmark.atomic import check_output_file
from benchmark.errors import ConfigError
from benchmark.fetch.report import AssetOutcome, FetchError, FetchReport
from benchmark.fetch.stage import OFFLINE_ENV, fetch_assets, offline_default

__all__ = ["AssetOutcome", "FetchError", "FetchReport", "OFFLINE_ENV", "add_arguments", "fetch_assets",
           "fetch_main", "load_ids"]  # fmt: skip

DEFAULT_REPORT = Path("results") / "fetch" / "report.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``osasis-bench fetch``."""
    parser.add_argument("--profile", choices=["paper", "smoke"], default=None, help="fetch this profile's assets")
    parser.add_argument("--asset", action="append", default=None, metavar="NAME", help="fetch only these assets")
    parser.add_argument("--dest", type=Path, default=None, help="target directory (default: the cache)")
    parser.add_argument("--jobs", type=int, default=4, help="parallel downloads")
    parser.add_argument("--timeout", type=float, default=30.0, help="connect/read timeout per attempt (s)")
    parser.add_argument("--connect-timeout", type=float, default=5.0, help="first TCP connect to each host (s)")
    parser.add_argument("--retries", type=int, default=4, help="retries of transient failures per file")
    parser.add_argument("--offline", action="store_true", default=None,
                        help=f"never touch the network, only verify (also ${OFFLINE_ENV}=1)")
    parser.add_argument("--ids-file", type=Path, default=None,
                        help="item ids for collection entries (text, JSON list, or a split file)")
    parser.add_argument("--params", type=Path, default=None, metavar="FILE",
                        help="the profile's parameter file (params.yaml): collection items are then the ids it "
                             "determines, i.e. the density split's candidates (prepare.density.n_candidates, seed)")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="where to write the JSON report")
    parser.add_argument("--allow-missing", action="store_true",
                        help="write the report and exit 0 even if some assets are missing")


def load_ids(path: str | Path) -> list[int | str]:
    """Ids from a text file (one per line), a JSON list, or a JSON object with ``ids`` or ``candidates``."""
    text = Path(path).read_text()
    try:
        data = json.loads(text)
    except ValueError:
        data = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if isinstance(data, dict):
        data = data.get("candidates") or data.get("ids") or []
    return [int(i) if str(i).isdigit() else i for i in data]


def fetch_main(args: argparse.Namespace | None = None, **kwargs: Any) -> FetchReport:
    """Run the fetch stage from CLI arguments (or keyword arguments); writes the report, raises FetchError."""
    options = {"profile": None, "asset": None, "dest": None, "jobs": 4, "timeout": 30.0, "connect_timeout": 5.0,
               "retries": 4, "offline": None, "ids_file": None, "report": DEFAULT_REPORT, "manifest_path": None,
               "allow_missing": False, "params": None}  # fmt: skip
    options.update({k: v for k, v in vars(args or argparse.Namespace()).items() if k in options})
    options.update(kwargs)
    if options["report"] is not None:
        check_output_file(options["report"], suffixes=(".json",), option="--report")
    if int(options["jobs"]) < 1 or int(options["retries"]) < 0:
        raise ConfigError(f"--jobs {options['jobs']} / --retries {options['retries']}: jobs must be at least 1 "
                         "and retries at least 0")  # fmt: skip
    if float(options["timeout"]) <= 0 or float(options["connect_timeout"]) <= 0:
        raise ConfigError("--timeout and --connect-timeout must be positive (seconds)")
    if options["ids_file"] and not Path(options["ids_file"]).is_file():
        raise ConfigError(f"--ids-file {options['ids_file']}: no such file")
    ids = load_ids(options["ids_file"]) if options["ids_file"] else None
    params = _profile_params(options["params"], options["profile"])
    return fetch_assets(options["asset"], dest=options["dest"], profile=options["profile"], jobs=options["jobs"],
                        timeout=options["timeout"], retries=options["retries"], offline=options["offline"],
                        connect_timeout=options["connect_timeout"],
                        manifest_path=options["manifest_path"], collection_ids=ids, params=params,
                        report_path=options["report"], strict=not options["allow_missing"])  # fmt: skip


def _profile_params(path: str | Path | None, profile: str | None) -> dict[str, Any] | None:
    """The parameter file's contents (None without one); its profile must be the one fetched."""
    if path is None:
        return None
    from benchmark.params import load_params

    params = load_params(path)
    if profile is not None and params.get("profile") != profile:
        raise ConfigError(f"--params {path} is the {params.get('profile')!r} profile, but --profile {profile} "
                          "was asked for; pass the matching parameter file")  # fmt: skip
    return params


def is_offline() -> bool:
    return offline_default()
