"""Validation of a submission folder. Nothing in the folder is executed or imported: files are only read as
bytes and decoded as PNG images after their signature is checked."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from benchmark.errors import BenchmarkError
from benchmark.submission.protocol import Protocol

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_FILE_BYTES = 32 * 1024 * 1024


class SubmissionError(BenchmarkError):
    """A submission folder breaks the protocol; ``problems`` lists every issue found."""

    def __init__(self, folder: Path, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n  ".join(problems[:200]) + (f"\n  ... and {len(problems) - 200} more" if len(problems) > 200 else "")
        super().__init__(f"submission {folder} is invalid ({len(problems)} problems):\n  {shown}")


def _symlink_problem(root: Path, path: Path, rel: str) -> str:
    target = Path(os.path.realpath(path))
    inside = target == root or root in target.parents
    where = "inside" if inside else "outside"
    return f"{rel}: symbolic link pointing {where} the submission (links are not allowed)"


def check_png(path: Path, rel: str, resolution: int) -> list[str]:
    """Problems of one expected file: not a regular file, too large, not a PNG, undecodable, wrong size/mode."""
    if not path.is_file():
        return [f"{rel}: not a regular file"]
    if path.stat().st_size > MAX_FILE_BYTES:
        return [f"{rel}: {path.stat().st_size} bytes, larger than {MAX_FILE_BYTES}"]
    with path.open("rb") as handle:
        head = handle.read(8)
    if head != PNG_SIGNATURE:
        kind = "JPEG" if head[:3] == b"\xff\xd8\xff" else "not a PNG"
        return [f"{rel}: {kind} (file signature), expected PNG"]
    try:
        with Image.open(path, formats=["PNG"]) as img:
            size, mode = img.size, img.mode
            if size != (resolution, resolution):
                return [f"{rel}: size {size[0]}x{size[1]}, expected {resolution}x{resolution}"]
            img.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return [f"{rel}: cannot decode PNG ({exc})"]
    return [] if mode == "RGB" else [f"{rel}: mode {mode}, expected RGB"]


def problems(folder: str | Path, protocol: Protocol) -> list[str]:
    """Everything wrong with ``folder`` (sorted; empty when valid)."""
    root = Path(os.path.realpath(folder))
    if not Path(folder).is_dir() or Path(folder).is_symlink():
        return [f"{folder}: not a folder"]
    expected = set(protocol.expected())
    folders = protocol.folders()
    found: set[str] = set()
    issues: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in sorted(dirnames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                issues.append(_symlink_problem(root, path, rel))
            elif rel not in folders:
                issues.append(f"{rel}/: unexpected folder")
        dirnames[:] = sorted(d for d in dirnames if not (base / d).is_symlink()
                             and (base / d).relative_to(root).as_posix() in folders)  # fmt: skip
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                issues.append(_symlink_problem(root, path, rel))
            elif rel not in expected:
                issues.append(f"{rel}: unexpected file (only <reference>/<split>/<input stem>.png is allowed)")
            else:
                found.add(rel)
                issues += check_png(path, rel, protocol.resolution)
    issues += [f"{rel}: missing" for rel in sorted(expected - found)]
    return sorted(issues)


def validate(folder: str | Path, protocol: Protocol) -> list[str]:
    """Raise :class:`SubmissionError` listing every problem; return the expected relative paths when valid."""
    found = problems(folder, protocol)
    if found:
        raise SubmissionError(Path(folder), found)
    return protocol.expected()
