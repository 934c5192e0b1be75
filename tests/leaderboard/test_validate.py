"""Submission validation: every problem is listed; nothing from the folder is executed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from report.fakes import SIZE, params, write_project, write_submission

from benchmark.errors import ConfigError
from benchmark.submission.protocol import Protocol, check_name
from benchmark.submission.validate import SubmissionError, problems, validate


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Protocol]:
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path)
    folder = tmp_path / "sub"
    write_submission(folder)
    return folder, Protocol.from_params(params())


def test_protocol_lists_every_expected_file(setup: tuple[Path, Protocol]) -> None:
    _, protocol = setup
    expected = protocol.expected()
    assert len(expected) == 3 * 2 * 3 and expected[0] == "aahq_1/high_density/00004.png"


def test_valid_submission_passes(setup: tuple[Path, Protocol]) -> None:
    folder, protocol = setup
    assert validate(folder, protocol) == protocol.expected()


def test_every_problem_is_reported_at_once(setup: tuple[Path, Protocol], tmp_path: Path) -> None:
    folder, protocol = setup
    (folder / "aahq_1/low_density/00001.png").unlink()  # missing
    (folder / "aahq_1/low_density/extra.png").write_bytes((folder / "aahq_1/low_density/00002.png").read_bytes())
    (folder / "notes.txt").write_text("hi")  # non-PNG extra file
    (folder / "aahq_1/other").mkdir()  # extra folder
    Image.new("RGB", (SIZE + 1, SIZE)).save(folder / "aahq_2/low_density/00002.png")  # wrong size
    Image.new("RGB", (SIZE, SIZE)).save(folder / "aahq_2/low_density/00003.png", format="JPEG")  # JPEG as .png
    Image.new("L", (SIZE, SIZE)).save(folder / "ood_1/low_density/00001.png")  # grayscale
    (folder / "ood_1/low_density/00002.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")  # corrupt
    secret = tmp_path / "secret.png"
    secret.write_bytes((folder / "ood_1/high_density/00004.png").read_bytes())
    (folder / "ood_1/high_density/00004.png").unlink()
    os.symlink(secret, folder / "ood_1/high_density/00004.png")  # symlink outside
    os.symlink(folder / "aahq_1", folder / "loop")  # symlink inside
    with pytest.raises(SubmissionError) as info:
        validate(folder, protocol)
    found = info.value.problems
    expect = {
        "aahq_1/low_density/00001.png: missing",
        "aahq_1/low_density/extra.png: unexpected file",
        "notes.txt: unexpected file",
        "aahq_1/other/: unexpected folder",
        "aahq_2/low_density/00002.png: size 17x16, expected 16x16",
        "aahq_2/low_density/00003.png: JPEG",
        "ood_1/low_density/00001.png: mode L, expected RGB",
        "ood_1/low_density/00002.png: cannot decode PNG",
        "ood_1/high_density/00004.png: symbolic link pointing outside",
        "loop: symbolic link pointing inside",
    }  # fmt: skip
    for text in expect:
        assert any(p.startswith(text) for p in found), f"{text!r} not reported in {found}"
    assert found == sorted(found) and str(info.value).count("\n") == len(found)


def test_root_must_be_a_folder(tmp_path: Path, setup: tuple[Path, Protocol]) -> None:
    _, protocol = setup
    assert problems(tmp_path / "nope", protocol) == [f"{tmp_path / 'nope'}: not a folder"]


def test_names() -> None:
    check_name("my-method.v2")
    for bad in ("", "Upper", "../x", "a/b", "x" * 65):
        with pytest.raises(ConfigError):
            check_name(bad)
    with pytest.raises(ConfigError, match="already a method"):
        check_name("alpha", ("alpha",))
