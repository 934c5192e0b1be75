"""Render reports/index.html in headless Chromium (file:// URL): DOM has the tables and figures, the
screenshot is not blank. Skipped where Debian's ``chromium`` is not installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH (apt-get install -y chromium)")


def _chromium(args: list[str]) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=90, check=False)  # fmt: skip


def test_report_renders_in_headless_chromium(built_report: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = built_report
    url = (root / "reports" / "index.html").resolve().as_uri()
    dom = _chromium(["--dump-dom", url]).stdout
    assert 'id="table-table1"' in dom and 'id="table-leaderboard-0"' in dom
    assert dom.count("<img") == 6 and 'id="fig-tradeoff"' in dom
    shot = tmp_path / "shot.png"
    _chromium([f"--screenshot={shot}", "--window-size=1400,2000", url])
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (2000, 1400)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.01, "screenshot looks blank"
