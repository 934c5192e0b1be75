"""Outputs that appear whole or not at all, and never at the cost of a file the suite did not write.

Rules every command follows (see README, "Safety guarantees"):

* a folder output is built in a staging folder beside its destination and renamed into place only on
  success; the destination must be absent, empty, or hold a previous output of the *same kind*, identified
  by the marker file :data:`MARKER` that the suite writes into every folder it produces;
* a destination is refused when it is the current folder or one of its parents, the home folder, a
  repository root, an input of the command or a folder holding one, lies under a file, or sits in a
  read-only folder; all of this is checked before any expensive work (:func:`check_output_dir`);
* a folder that only collects files (``evaluate --method M --out DIR``) is updated file by file: a file
  is replaced only when the marker lists it as the suite's own (:func:`write_owned_files`);
* files are written to a temporary name and renamed; they get the ordinary permissions of the umask.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from benchmark.errors import BenchmarkError

MARKER = ".osasis-bench-output"  # JSON; no ``.json`` suffix, so globs for result files never pick it up
PathLike = str | Path


class OutputPathError(BenchmarkError):
    """An output destination that the suite refuses to write to (it would lose or mix up files)."""


def umask() -> int:
    """The process umask (read without changing it for longer than one call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Ordinary permissions for a new file: ``0o666`` minus the umask."""
    return 0o666 & ~umask()


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place (mode from the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def read_marker(folder: PathLike) -> dict | None:
    """The marker of a suite output folder, or ``None`` when ``folder`` holds none (or an unreadable one)."""
    marker = Path(folder) / MARKER
    if not marker.is_file() or marker.is_symlink():
        return None
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("kind"), str) else None


def write_marker(folder: PathLike, kind: str, files: Iterable[str] | None = None) -> None:
    payload: dict = {"written_by": "osasis-bench", "kind": kind}
    if files is not None:
        payload["files"] = sorted(files)
    atomic_write_text(Path(folder) / MARKER, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _resolved(path: PathLike) -> Path:
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_location(path: PathLike, inputs: Iterable[PathLike], option: str) -> Path:
    """Checks shared by file and folder outputs; returns the resolved destination."""
    shown = f"{option} {path}"
    target = _resolved(path)
    cwd = Path.cwd().resolve()
    if _within(cwd, target):
        raise OutputPathError(f"{shown}: refusing to write to the current folder or one of its parents; "
                              "name a new folder instead")  # fmt: skip
    home = _resolved(Path.home())
    if _within(home, target):
        raise OutputPathError(f"{shown}: refusing to write to the home folder or one of its parents")
    if (target / ".git").exists():
        raise OutputPathError(f"{shown}: refusing to write to a repository root; name a new folder instead")
    for item in inputs:
        if item is None:
            continue
        source = _resolved(item)
        if _within(source, target):
            what = "is" if source == target else "contains"
            raise OutputPathError(f"{shown} {what} the input {item}; write the outputs to another folder")
    parent = target.parent
    while not parent.exists():
        if parent.is_symlink():
            raise OutputPathError(f"{shown}: {parent} is a broken symbolic link")
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"{shown} lies under {parent}, which is a file, not a folder; choose another path")
    read_only = not os.access(parent, os.W_OK | os.X_OK) or bool(os.statvfs(parent).f_flag & os.ST_RDONLY)
    if read_only:
        raise OutputPathError(f"{shown}: the folder {parent} is read-only; choose a writable location")
    return target


def _refusal(path: PathLike, kind: str, option: str) -> str | None:
    """Why an existing ``path`` may not be replaced by a ``kind`` output (``None``: it may)."""
    path = Path(path)
    if path.is_symlink():
        return f"{option} {path} is a symbolic link; name a real folder"
    if not path.exists():
        return None
    if not path.is_dir():
        return f"{option} {path} exists and is a file; name a new folder"
    marker = read_marker(path)
    if marker is not None:
        if marker["kind"] == kind:
            return None
        return (f"{option} {path} holds a {marker['kind']!r} output of osasis-bench, not a {kind!r} one; "
                "name another folder")  # fmt: skip
    if any(path.iterdir()):
        return (f"{option} {path} already exists and was not written by osasis-bench (no {MARKER} marker); "
                "name a new folder, or move it away yourself")  # fmt: skip
    return None


def check_output_dir(path: PathLike, kind: str, inputs: Iterable[PathLike] = (), option: str = "--out") -> Path:
    """Raise :class:`OutputPathError` unless a ``kind`` output folder may be (re)placed at ``path``."""
    _check_location(path, inputs, option)
    why = _refusal(path, kind, option)
    if why:
        raise OutputPathError(why)
    return Path(path)


def check_output_file(path: PathLike, inputs: Iterable[PathLike] = (), option: str = "--out",
                      suffixes: tuple[str, ...] = (".json",)) -> Path:  # fmt: skip
    """Raise :class:`OutputPathError` unless a result file (one of ``suffixes``) may be written at ``path``.

    An existing file of the same type is replaced (the usual meaning of an output option); folders,
    inputs and other file types never are.
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise OutputPathError(f"{option} {path}: the output must be a {' or '.join(suffixes)} file")
    _check_location(path, inputs, option)
    if path.is_symlink():
        raise OutputPathError(f"{option} {path} is a symbolic link; name a regular file")
    if path.exists() and not path.is_file():
        raise OutputPathError(f"{option} {path} exists and is not a file")
    return path


def _unique_sibling(final: Path, tag: str) -> Path:
    while True:
        candidate = final.parent / f".{final.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"
        if not os.path.lexists(candidate):
            return candidate


@contextmanager
def staged_directory(final: PathLike, kind: str = "output", inputs: Iterable[PathLike] = (),
                     option: str = "--out") -> Iterator[Path]:  # fmt: skip
    """Yield a new, empty staging folder beside ``final``; on success it becomes ``final``, on error it is removed.

    ``final`` is checked with :func:`check_output_dir` first (and again just before the swap); a previous
    output of the same kind is replaced only after the new one is complete. DVC (and anyone reading the
    outputs) therefore never sees a half-written folder, and nothing the suite did not write is removed.
    """
    final = Path(final)
    inputs = [i for i in inputs if i is not None]
    check_output_dir(final, kind, inputs, option)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = _unique_sibling(final, "tmp")
    staging.mkdir()
    try:
        yield staging
        write_marker(staging, kind)
        check_output_dir(final, kind, inputs, option)
        if final.exists():
            previous = _unique_sibling(final, "old")
            os.replace(final, previous)
            os.replace(staging, final)
            shutil.rmtree(previous)
        else:
            os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_owned_files(folder: PathLike, kind: str, names: Iterable[str], inputs: Iterable[PathLike] = (),
                      option: str = "--out") -> set[str]:  # fmt: skip
    """Raise :class:`OutputPathError` unless :func:`write_owned_files` may write ``names`` into ``folder``;
    returns the names the folder's marker lists as the suite's own."""
    folder = Path(folder)
    _check_location(folder, [i for i in inputs if i is not None], option)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputPathError(f"{option} {folder} exists and is not a folder")
    marker = read_marker(folder) if folder.is_dir() else None
    if marker is not None and marker["kind"] != kind:
        raise OutputPathError(f"{option} {folder} holds a {marker['kind']!r} output of osasis-bench, not {kind!r}")
    owned = {str(n) for n in marker.get("files", [])} if marker else set()
    for name in names:
        if Path(name).name != name or name.startswith("."):
            raise OutputPathError(f"invalid output file name {name!r}")
        if os.path.lexists(folder / name) and name not in owned:
            raise OutputPathError(f"{option} {folder}: {name} exists and was not written by osasis-bench; "
                                  "move it away or name another folder")  # fmt: skip
    return owned


def write_owned_files(folder: PathLike, kind: str, files: Mapping[str, str], inputs: Iterable[PathLike] = (),
                      option: str = "--out") -> None:  # fmt: skip
    """Put ``files`` (name -> text) into ``folder``, which may hold other files: a file already there is
    replaced only when the folder's marker lists it as written by a ``kind`` output; files the marker lists
    that are not in ``files`` any more are removed; everything else is left alone."""
    owned = check_owned_files(folder, kind, list(files), inputs, option)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(files.items()):
        atomic_write_text(folder / name, text)
    for stale in sorted(owned - set(files)):
        path = folder / stale
        if Path(stale).name == stale and path.is_file() and not path.is_symlink():
            path.unlink()
    write_marker(folder, kind, files)
