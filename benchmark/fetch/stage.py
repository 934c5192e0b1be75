"""The fetch stage: put every manifest asset a run needs into the cache (or ``dest``), verified.

For each selected asset (by name, by profile, or all):

1. look for it where the resolver looks (``dest``, ``$OSASIS_BENCH_WEIGHTS``, the cache, the repository for bundled
   files). A file found there is verified (pinned SHA-256, else the MD5 a collection index gives) and used; a
   corrupt copy inside ``dest`` is deleted and fetched again, a corrupt hand-placed copy elsewhere is reported;
2. otherwise download it (unless offline) to ``<dest>/<file>.part`` with resume, retries and backoff
   (:mod:`benchmark.fetch.http`), verify it (one re-download after a checksum mismatch), and rename it into place.
   Entries with ``sha256: null`` are "pinned on first download": the digest is printed with the line to add to
   the manifest, and the report lists it under ``sha256``;
3. archives with ``extract:`` are unpacked next to the file (:mod:`benchmark.fetch.archive`).

Downloads run in a bounded thread pool with one tqdm byte counter. Each host is first probed with one short
TCP connect (``connect_timeout``, default 5 s); a host that cannot be resolved or reached is not retried, and the
other downloads from it are skipped. Everything that is still missing at the end is named in
ONE :class:`~benchmark.fetch.report.FetchError` message, with where to put a hand-downloaded copy.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm.auto import tqdm

from benchmark import progress
from benchmark.assets import WEIGHTS_ENV, Asset, cache_dir, candidate_paths, manifest, sha256_file, verify_checksum
from benchmark.errors import AssetError
from benchmark.fetch import archive, collections, gdrive, http
from benchmark.fetch.report import AssetOutcome, FetchError, FetchReport

OFFLINE_ENV = "OSASIS_BENCH_OFFLINE"


def offline_default() -> bool:
    return os.environ.get(OFFLINE_ENV, "0").lower() in ("1", "true", "yes")


def select_assets(names: Sequence[str] | None, profile: str | None, table: dict[str, Asset]) -> list[Asset]:
    """The manifest entries named (all must exist), else those of ``profile``, else all."""
    if names:
        unknown = [n for n in names if n not in table]
        if unknown:
            raise AssetError(f"unknown asset(s) {', '.join(unknown)}; known assets: {', '.join(sorted(table))}")
        return [table[n] for n in names]
    return [a for a in table.values() if profile is None or profile in a.profiles]


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify(asset: Asset, path: Path) -> tuple[bool, bool]:
    """(matches, verified): the size (when given) must match; then a pinned SHA-256, else a known MD5, else
    the file is accepted unverified (pin on first download)."""
    if asset.size is not None and path.stat().st_size != asset.size:
        return False, True
    if asset.sha256:
        return verify_checksum(path, asset.sha256), True
    md5 = asset.extra.get("md5")
    if md5:
        return _md5(path) == md5, True
    return True, False


class _Run:
    """State shared by the worker threads of one fetch."""

    def __init__(self, dest: Path, timeout: float, retries: int, backoff: float, bar: tqdm,
                 connect_timeout: float = 5.0) -> None:
        self.dest, self.timeout, self.retries, self.backoff, self.bar = dest, timeout, retries, backoff, bar
        self.connect_timeout = connect_timeout
        self.lock = threading.Lock()
        self.dead_hosts: dict[str, str] = {}
        self.probed: set[str] = set()

    def probe(self, url: str) -> str | None:
        """Why the host of ``url`` cannot be reached (one short TCP connect per host), or None.

        Skipped when a proxy is configured for the scheme (the proxy, not the host, is then contacted)."""
        parsed = urllib.parse.urlparse(url)
        host = parsed.netloc
        with self.lock:
            if host in self.dead_hosts:
                return self.dead_hosts[host]
            if host in self.probed or parsed.scheme in urllib.request.getproxies():
                return None
            self.probed.add(host)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname, port), timeout=self.connect_timeout).close()
            return None
        except socket.gaierror as exc:
            reason = f"cannot resolve host ({exc})"
        except OSError as exc:
            reason = f"cannot connect within {self.connect_timeout:g} s ({exc})"
        with self.lock:
            self.dead_hosts[host] = reason
        return reason

    def where(self, asset: Asset) -> str:
        return f"{self.dest / asset.file} (or ${WEIGHTS_ENV}/{asset.file})"

    def on_bytes(self, n: int) -> None:
        with self.lock:
            self.bar.update(n)


def _search_paths(asset: Asset, dest: Path) -> list[Path]:
    paths = [dest / asset.file]
    for path in candidate_paths(asset):
        if path not in paths:
            paths.append(path)
    return paths


def _check_existing(asset: Asset, run: _Run) -> AssetOutcome | None:
    """An outcome for an asset already on disk, or None when it must be downloaded."""
    for path in _search_paths(asset, run.dest):
        if not path.is_file():
            continue
        ok, verified = verify(asset, path)
        if ok:
            return AssetOutcome(asset.name, asset.file, "present", str(path), verified,
                                asset.sha256 or (None if verified else sha256_file(path)), path.stat().st_size)
        if path == run.dest / asset.file:
            path.unlink()  # our own copy is corrupt: fetch again
            return None
        return AssetOutcome(asset.name, asset.file, "failed", str(path), message=(
            f"checksum mismatch for the copy at {path} (expected sha256 {asset.sha256 or asset.extra.get('md5')}); "
            "replace or remove it"), where_to_put=str(path))  # fmt: skip
    return None


def _say(text: str) -> None:
    tqdm.write(text, file=sys.stderr)


def _download(asset: Asset, run: _Run) -> AssetOutcome:
    target = run.dest / asset.file
    where = run.where(asset)
    host = urllib.parse.urlparse(asset.url).netloc
    dead = run.probe(asset.url)
    if dead:
        return AssetOutcome(asset.name, asset.file, "failed", message=f"source {host} unreachable: {dead}",
                            where_to_put=where)  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    for round_ in range(2):  # one re-download after a checksum mismatch
        try:
            http.download(asset.url, part, timeout=run.timeout, retries=run.retries, backoff=run.backoff,
                          expected_size=asset.size, on_bytes=run.on_bytes)  # fmt: skip
        except http.UnreachableError as exc:
            with run.lock:
                run.dead_hosts[host] = str(exc)
            return AssetOutcome(asset.name, asset.file, "failed", message=f"{asset.url}: {exc}", where_to_put=where)
        except http.DownloadError as exc:
            return AssetOutcome(asset.name, asset.file, "failed", message=f"{asset.url}: {exc}", where_to_put=where)
        ok, verified = verify(asset, part)
        if ok:
            break
        part.unlink(missing_ok=True)
        if round_:
            return AssetOutcome(asset.name, asset.file, "failed", where_to_put=where, message=(
                f"checksum mismatch after re-downloading {asset.url} (expected sha256 {asset.sha256}); the source "
                "may have changed"))  # fmt: skip
        _say(f"{asset.name}: checksum mismatch, downloading again")
    digest = asset.sha256 or sha256_file(part)
    os.replace(part, target)
    if not asset.sha256 and not asset.extra.get("md5"):
        _say(f"{asset.name}: downloaded unpinned file, sha256 {digest}. Pin it by setting `sha256: {digest}` "
             f"(and `size: {target.stat().st_size}`) on its entry in data/assets/*.yaml")  # fmt: skip
    return AssetOutcome(asset.name, asset.file, "downloaded", str(target), verified, digest, target.stat().st_size)


def _unavailable(asset: Asset, run: _Run, offline: bool) -> AssetOutcome | None:
    """An outcome for an asset that cannot be downloaded here, or None when it can."""
    where = run.where(asset)
    if offline:
        return AssetOutcome(asset.name, asset.file, "missing", message="not present (offline)", where_to_put=where)
    if asset.bundled:
        return AssetOutcome(asset.name, asset.file, "missing", message=asset.instructions(), where_to_put=asset.file)
    if not asset.url or gdrive.is_folder(asset.url):
        how = asset.how_to_get or (gdrive.manual_message(asset.url) if asset.url else "no download URL")
        return AssetOutcome(asset.name, asset.file, "missing", message=f"manual download needed: {how}",
                            where_to_put=where)  # fmt: skip
    return None


def _finish(outcome: AssetOutcome, asset: Asset, dest: Path) -> AssetOutcome:
    kind = asset.extra.get("extract")
    if kind and outcome.status in ("present", "downloaded") and outcome.path:
        archive_path = Path(outcome.path)
        target = archive_path.parent / asset.extra["extract_to"] if asset.extra.get("extract_to") else None
        try:
            archive.extract(archive_path, kind, target)
        except (OSError, AssetError, ValueError) as exc:
            outcome.status, outcome.message = "failed", f"cannot extract {archive_path}: {exc}"
    return outcome


def expand_collections(selected: Iterable[Asset], table: dict[str, Asset],
                       collection_ids: dict[str, Sequence[int | str]] | Sequence[int | str] | None,
                       index_paths: dict[str, Path] | None = None,
                       ) -> tuple[list[Asset], list[AssetOutcome]]:  # fmt: skip
    """Replace collection entries by their items for the ids given; others are reported as skipped.

    ``index_paths`` maps an index asset's name to where this run found or put it (e.g. a ``dest`` outside the
    resolver's paths); a collection whose index is nowhere is reported as missing.
    """
    plain: list[Asset] = []
    skipped: list[AssetOutcome] = []
    for asset in selected:
        if not collections.is_collection(asset):
            plain.append(asset)
            continue
        ids = collection_ids.get(asset.name) if isinstance(collection_ids, dict) else collection_ids
        if not ids:
            skipped.append(AssetOutcome(asset.name, asset.file, "skipped", message=(
                "collection: pass the item ids to fetch (`--params params.yaml` derives the density split's "
                "candidate ids from the profile; or --ids-file)")))  # fmt: skip
            continue
        index_name = asset.extra["collection"].get("index")
        try:
            plain.extend(collections.expand(asset, ids, table, (index_paths or {}).get(index_name)))
        except AssetError as exc:
            skipped.append(AssetOutcome(asset.name, asset.file, "missing", message=str(exc),
                                        where_to_put=str(asset.file)))  # fmt: skip
    return plain, skipped


def _derived_ids(params: dict | None, wanted: Sequence[Asset], table: dict[str, Asset],
                 manifest_path: str | Path | None, index_paths: dict[str, Path],
                 ) -> tuple[dict[str, list[str]], list[AssetOutcome]]:  # fmt: skip
    """Collection ids the profile's params determine (the density split's candidates, benchmark.splits), and
    an outcome for a collection whose ids cannot be drawn (its index is missing)."""
    if not params:
        return {}, []
    from benchmark.splits.candidates import candidate_collection, density_candidates

    name = candidate_collection(params)
    if name is None or name not in {a.name for a in wanted}:
        return {}, []
    index_name = table[name].extra.get("collection", {}).get("index")
    try:
        return {name: density_candidates(params, manifest_path, index_paths.get(index_name))}, []
    except AssetError as exc:
        return {}, [AssetOutcome(name, table[name].file, "missing", message=str(exc),
                                 where_to_put=str(table[name].file))]  # fmt: skip


def _fetch_round(assets: Sequence[Asset], run: _Run, offline: bool, jobs: int) -> dict[str, AssetOutcome]:
    """Check, then download (in parallel), one list of plain assets."""
    outcomes: dict[str, AssetOutcome] = {}
    todo: list[Asset] = []
    for asset in assets:
        found = _check_existing(asset, run)
        if found is not None:
            outcomes[asset.name] = found
            run.on_bytes(asset.size or 0)
        elif (blocked := _unavailable(asset, run, offline)) is not None:
            outcomes[asset.name] = blocked
        else:
            todo.append(asset)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for asset, outcome in zip(todo, pool.map(lambda a: _download(a, run), todo)):
            outcomes[asset.name] = outcome
    return outcomes


def fetch_assets(names: list[str] | None = None, dest: Path | None = None, profile: str | None = None,
                 jobs: int = 4, timeout: float = 30, retries: int = 4, *, backoff: float = 1.0,
                 connect_timeout: float = 5.0,
                 offline: bool | None = None, manifest_path: str | Path | None = None,
                 collection_ids: dict[str, Sequence[int | str]] | Sequence[int | str] | None = None,
                 params: dict | None = None,
                 report_path: str | Path | None = None, strict: bool = True) -> FetchReport:
    """Fetch and verify assets; write the JSON report to ``report_path``; raise FetchError if any is missing.

    Two rounds: the plain assets first (among them collection indexes), then the items of the collections,
    for ``collection_ids`` or, failing those, the ids the profile's ``params`` determine (the density split's
    candidates, :func:`benchmark.splits.candidates.density_candidates`).
    """
    offline = offline_default() if offline is None else offline
    table = manifest(manifest_path)
    dest = Path(dest) if dest else cache_dir()
    selected = select_assets(names, profile, table)
    plain = [a for a in selected if not collections.is_collection(a)]
    wanted = [a for a in selected if collections.is_collection(a)]
    report = FetchReport(profile=profile, dest=str(dest), offline=offline)
    with tqdm(total=sum(a.size or 0 for a in plain) or None, unit="B", unit_scale=True, unit_divisor=1024,
              desc="fetch", dynamic_ncols=True, disable=not progress.enabled(), leave=False) as bar:  # fmt: skip
        run = _Run(dest, timeout, retries, backoff, bar, connect_timeout)
        outcomes = _fetch_round(plain, run, offline, jobs)
        index_paths = {name: Path(o.path) for name, o in outcomes.items()
                       if o.status in ("present", "downloaded") and o.path}  # fmt: skip
        ids, problems = collection_ids, []
        if not ids and wanted:
            derived, problems = _derived_ids(params, wanted, table, manifest_path, index_paths)
            ids = derived or None
            wanted = [a for a in wanted if a.name not in {p.name for p in problems}]
        items, skipped = expand_collections(wanted, table, ids, index_paths)
        skipped = problems + skipped
        for outcome in skipped:
            if outcome.status == "missing":
                outcome.where_to_put = run.where(table[outcome.name])
        if items:
            bar.total = (bar.total or 0) + sum(a.size or 0 for a in items)
            outcomes.update(_fetch_round(items, run, offline, jobs))
    report.outcomes = [_finish(outcomes[a.name], a, dest) for a in plain + items] + skipped
    if report_path is not None:
        report.write(report_path)
    if strict and not report.ok:
        raise FetchError(report)
    return report
