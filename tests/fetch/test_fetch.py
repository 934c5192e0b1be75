"""The fetch stage against a loopback HTTP server: download, resume, corruption, 404, stall, unreachable, offline."""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from benchmark.fetch import FetchError, fetch_assets, fetch_main, load_ids

FAST = {"retries": 2, "backoff": 0.01, "timeout": 2.0}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(folder: Path, entries: list[dict]) -> Path:
    full = [{"license": "test", "profiles": ["paper"], "used_by": ["tests"], **e} for e in entries]
    (folder / "test.yaml").write_text(yaml.safe_dump({"assets": full}))
    return folder


def payload(n: int, seed: int = 0) -> bytes:
    return bytes((i * 131 + seed) % 251 for i in range(n))


def test_normal_download_parallel_and_report(server, dirs):
    base, served = server
    data = {f"/f{i}.bin": payload(5000 + i, i) for i in range(3)}
    served.files.update(data)
    entries = [{"name": f"a{i}", "file": f"sub/f{i}.bin", "url": base + p, "sha256": sha(d), "size": len(d)}
               for i, (p, d) in enumerate(data.items())]
    man = write_manifest(dirs["manifest"], entries)
    report_path = dirs["cache"].parent / "out" / "report.json"
    report = fetch_assets(None, profile="paper", jobs=2, manifest_path=man, report_path=report_path, **FAST)
    assert [o.status for o in report.outcomes] == ["downloaded"] * 3
    for i, (_, d) in enumerate(data.items()):
        assert (dirs["cache"] / f"sub/f{i}.bin").read_bytes() == d
        assert not (dirs["cache"] / f"sub/f{i}.bin.part").exists()
    written = json.loads(report_path.read_text())
    assert written["ok"] and written["counts"] == {"downloaded": 3}
    assert all(a["verified"] for a in written["assets"])
    # a second run uses the files and touches nothing
    before = len(served.requests)
    again = fetch_assets(["a0"], manifest_path=man, **FAST)
    assert again.outcomes[0].status == "present" and len(served.requests) == before


def test_interrupted_transfer_is_resumed_with_range(server, dirs):
    base, served = server
    data = payload(20000)
    served.files["/big.bin"] = data
    served.modes["/big.bin"] = "cut:7000"
    man = write_manifest(dirs["manifest"], [{"name": "big", "file": "big.bin", "url": base + "/big.bin",
                                             "sha256": sha(data), "size": len(data)}])
    report = fetch_assets(["big"], manifest_path=man, **FAST)
    assert report.outcomes[0].status == "downloaded" and report.outcomes[0].verified
    assert (dirs["cache"] / "big.bin").read_bytes() == data
    headers = [h for p, h in served.requests if p == "/big.bin"]
    assert len(headers) == 2 and "Range" not in headers[0]
    assert headers[1]["Range"] == "bytes=7000-"


def test_part_file_left_by_an_earlier_run_is_resumed(server, dirs):
    base, served = server
    data = payload(9000, 3)
    served.files["/p.bin"] = data
    (dirs["cache"] / "p.bin.part").write_bytes(data[:4000])
    man = write_manifest(dirs["manifest"], [{"name": "p", "file": "p.bin", "url": base + "/p.bin",
                                             "sha256": sha(data), "size": len(data)}])
    fetch_assets(["p"], manifest_path=man, **FAST)
    assert served.requests[0][1]["Range"] == "bytes=4000-"
    assert (dirs["cache"] / "p.bin").read_bytes() == data


def test_server_ignoring_range_restarts_cleanly(server, dirs):
    base, served = server
    data = payload(6000, 5)
    served.files["/n.bin"] = data
    served.modes["/n.bin"] = "no-range"
    (dirs["cache"] / "n.bin.part").write_bytes(b"x" * 100)
    man = write_manifest(dirs["manifest"], [{"name": "n", "file": "n.bin", "url": base + "/n.bin",
                                             "sha256": sha(data)}])
    fetch_assets(["n"], manifest_path=man, **FAST)
    assert (dirs["cache"] / "n.bin").read_bytes() == data


def test_checksum_mismatch_refetches_once(server, dirs):
    base, served = server
    data = payload(3000, 7)
    served.files["/c.bin"] = data
    served.modes["/c.bin"] = "corrupt-once"
    man = write_manifest(dirs["manifest"], [{"name": "c", "file": "c.bin", "url": base + "/c.bin",
                                             "sha256": sha(data)}])
    report = fetch_assets(["c"], manifest_path=man, **FAST)
    assert report.outcomes[0].status == "downloaded" and served.count("/c.bin") == 2


def test_persistent_corruption_is_an_error(server, dirs):
    base, served = server
    served.files["/c.bin"] = payload(3000, 7)
    served.modes["/c.bin"] = "corrupt"
    man = write_manifest(dirs["manifest"], [{"name": "corrupted-asset", "file": "c.bin", "url": base + "/c.bin",
                                             "sha256": sha(payload(3000, 7))}])
    with pytest.raises(FetchError, match="corrupted-asset.*checksum mismatch"):
        fetch_assets(["corrupted-asset"], manifest_path=man, **FAST)
    assert served.count("/c.bin") == 2
    assert not (dirs["cache"] / "c.bin").exists() and not (dirs["cache"] / "c.bin.part").exists()


def test_corrupt_cached_copy_is_replaced(server, dirs):
    base, served = server
    data = payload(2000, 9)
    served.files["/r.bin"] = data
    (dirs["cache"] / "r.bin").write_bytes(b"old junk")
    man = write_manifest(dirs["manifest"], [{"name": "r", "file": "r.bin", "url": base + "/r.bin",
                                             "sha256": sha(data)}])
    assert fetch_assets(["r"], manifest_path=man, **FAST).outcomes[0].status == "downloaded"
    assert (dirs["cache"] / "r.bin").read_bytes() == data


def test_404_names_the_asset(server, dirs):
    base, _ = server
    man = write_manifest(dirs["manifest"], [{"name": "gone-weights", "file": "g.pt", "url": base + "/nope.pt",
                                             "sha256": None}])
    with pytest.raises(FetchError) as err:
        fetch_assets(["gone-weights"], manifest_path=man, **FAST)
    text = str(err.value)
    assert "gone-weights" in text and "404" in text and str(dirs["cache"] / "g.pt") in text


def test_stalled_server_times_out_boundedly(server, dirs):
    base, served = server
    served.files["/s.bin"] = payload(50000)
    served.modes["/s.bin"] = "stall"
    man = write_manifest(dirs["manifest"], [{"name": "stalled", "file": "s.bin", "url": base + "/s.bin",
                                             "sha256": None, "size": 50000}])
    start = time.monotonic()
    with pytest.raises(FetchError, match="stalled.*timed out"):
        fetch_assets(["stalled"], manifest_path=man, timeout=0.5, retries=1, backoff=0.01)
    assert time.monotonic() - start < 4
    assert served.count("/s.bin") == 2


def test_unreachable_host_fails_fast_with_one_message(dirs, closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    man = write_manifest(dirs["manifest"], [
        {"name": "w1", "file": "w1.pt", "url": url + "/w1.pt", "sha256": None},
        {"name": "w2", "file": "w2.pt", "url": url + "/w2.pt", "sha256": None},
    ])
    start = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch_assets(None, profile="paper", jobs=1, manifest_path=man, retries=4, backoff=1.0, timeout=2)
    assert time.monotonic() - start < 2  # no retries with backoff for a refused connection
    text = str(err.value)
    assert text.count("\n") == 2 and "w1" in text and "w2" in text and "unreachable" in text.lower()
    assert str(dirs["cache"] / "w2.pt") in text


def test_hand_placed_file_is_verified_and_used_without_network(dirs, closed_port):
    data = payload(1234, 1)
    (dirs["weights"] / "hand.pt").write_bytes(data)
    man = write_manifest(dirs["manifest"], [{"name": "hand", "file": "hand.pt", "sha256": sha(data),
                                             "url": f"http://127.0.0.1:{closed_port}/hand.pt"}])
    report = fetch_assets(["hand"], manifest_path=man, **FAST)
    assert report.outcomes[0].status == "present" and report.outcomes[0].verified
    assert report.outcomes[0].path == str(dirs["weights"] / "hand.pt")


def test_hand_placed_corrupt_file_is_reported_not_deleted(dirs, closed_port):
    (dirs["weights"] / "bad.pt").write_bytes(b"wrong")
    man = write_manifest(dirs["manifest"], [{"name": "bad", "file": "bad.pt", "sha256": sha(b"right"),
                                             "url": f"http://127.0.0.1:{closed_port}/bad.pt"}])
    with pytest.raises(FetchError, match="bad: checksum mismatch"):
        fetch_assets(["bad"], manifest_path=man, **FAST)
    assert (dirs["weights"] / "bad.pt").exists()


def test_offline_mode_never_touches_the_network(server, dirs, monkeypatch):
    base, served = server
    served.files["/o.bin"] = b"x" * 100
    present = payload(10)
    (dirs["cache"] / "here.bin").write_bytes(present)
    man = write_manifest(dirs["manifest"], [
        {"name": "o", "file": "o.bin", "url": base + "/o.bin", "sha256": None},
        {"name": "here", "file": "here.bin", "url": base + "/here.bin", "sha256": sha(present)},
    ])
    monkeypatch.setenv("OSASIS_BENCH_OFFLINE", "1")
    report_path = dirs["cache"].parent / "r.json"
    with pytest.raises(FetchError, match="offline") as err:
        fetch_main(profile="paper", manifest_path=man, report=report_path)
    assert served.requests == []
    assert err.value.report.by_status("present")[0].name == "here"
    assert json.loads(report_path.read_text())["counts"] == {"missing": 1, "present": 1}


def test_unpinned_download_prints_digest(server, dirs, capsys):
    base, served = server
    data = payload(777)
    served.files["/u.bin"] = data
    man = write_manifest(dirs["manifest"], [{"name": "u", "file": "u.bin", "url": base + "/u.bin", "sha256": None}])
    report = fetch_assets(["u"], manifest_path=man, **FAST)
    assert report.outcomes[0].sha256 == sha(data) and not report.outcomes[0].verified
    assert f"sha256: {sha(data)}" in capsys.readouterr().err


def test_bundled_asset_is_verified_in_place(dirs):
    repo_file = "pyproject.toml"
    digest = sha((Path(__file__).resolve().parents[2] / repo_file).read_bytes())
    man = write_manifest(dirs["manifest"], [{"name": "b", "file": repo_file, "bundled": True, "sha256": digest,
                                             "url": "", "profiles": ["smoke"]}])
    report = fetch_assets(None, profile="smoke", manifest_path=man, offline=True)
    assert report.outcomes[0].status == "present" and report.outcomes[0].verified


def test_collection_items_by_id_and_zip_extract(server, dirs, tmp_path):
    base, served = server
    for i in (3, 17):
        served.files[f"/img/{i:05d}.png"] = payload(300, i)
    buf = tmp_path / "a.zip"
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("inner/x.txt", "hello")
    served.files["/a.zip"] = buf.read_bytes()
    man = write_manifest(dirs["manifest"], [
        {"name": "faces", "file": "faces", "url": "", "sha256": None,
         "collection": {"format": "template", "url_template": base + "/img/{id:05d}.png",
                        "file_template": "{id:05d}.png", "id_range": [0, 70000]}},
        {"name": "arch", "file": "a.zip", "url": base + "/a.zip", "sha256": sha(buf.read_bytes()), "extract": "zip"},
    ])
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps({"candidates": [3, 17]}))
    report = fetch_assets(None, profile="paper", manifest_path=man, collection_ids=load_ids(ids_file), **FAST)
    assert sorted(o.name for o in report.outcomes) == ["arch", "faces:17", "faces:3"]
    assert (dirs["cache"] / "faces" / "00017.png").read_bytes() == payload(300, 17)
    assert (dirs["cache"] / "a" / "inner" / "x.txt").read_text() == "hello"
    skipped = fetch_assets(["faces"], manifest_path=man, strict=False, **FAST)
    assert skipped.outcomes[0].status == "skipped"


def test_gdrive_links_and_confirm_page():
    from benchmark.fetch import gdrive

    assert gdrive.direct_url("https://drive.google.com/uc?id=ABC_1-x") == \
        "https://drive.usercontent.google.com/download?id=ABC_1-x&export=download"
    assert gdrive.file_id("https://drive.google.com/file/d/XYZ/view?usp=sharing") == "XYZ"
    assert gdrive.is_folder("https://drive.google.com/drive/folders/1N0q9RBY")
    page = ('<form id="download-form" action="https://drive.usercontent.google.com/download" method="get">'
            '<input type="hidden" name="id" value="ABC"><input type="hidden" name="confirm" value="t">'
            '<input type="hidden" name="uuid" value="u-1"></form>')
    assert gdrive.next_url("https://drive.usercontent.google.com/download?id=ABC", page) == \
        "https://drive.usercontent.google.com/download?id=ABC&confirm=t&uuid=u-1"
    assert gdrive.next_url("https://x/uc?id=A", "<a href='/uc?export=download&amp;confirm=Zx9&amp;id=A'>") \
        .endswith("confirm=Zx9")
    assert gdrive.next_url("u", "Google Drive - Quota exceeded") is None


def test_drive_folder_needs_manual_download(dirs):
    man = write_manifest(dirs["manifest"], [{"name": "ckpt", "file": "ckpt/last.ckpt", "sha256": None,
                                             "url": "https://drive.google.com/drive/folders/1-5zfxT6",
                                             "how_to_get": "Download last.ckpt from the folder."}])
    with pytest.raises(FetchError, match="ckpt: manual download needed: Download last.ckpt"):
        fetch_assets(["ckpt"], manifest_path=man, **FAST)
    assert os.listdir(dirs["cache"]) == []


def test_complete_part_file_and_416_is_accepted(server, dirs):
    base, served = server
    data = payload(4096, 2)
    served.files["/done.bin"] = data
    (dirs["cache"] / "done.bin.part").write_bytes(data)
    man = write_manifest(dirs["manifest"], [{"name": "done", "file": "done.bin", "url": base + "/done.bin",
                                             "sha256": sha(data), "size": len(data)}])
    assert fetch_assets(["done"], manifest_path=man, **FAST).outcomes[0].status == "downloaded"
    assert served.requests[0][1]["Range"] == "bytes=4096-" and (dirs["cache"] / "done.bin").read_bytes() == data


def test_allow_missing_writes_report_without_raising(dirs, closed_port, tmp_path):
    man = write_manifest(dirs["manifest"], [{"name": "x", "file": "x.pt", "sha256": None,
                                             "url": f"http://127.0.0.1:{closed_port}/x.pt"}])
    report = fetch_main(asset=["x"], manifest_path=man, report=tmp_path / "r.json", allow_missing=True, retries=0)
    assert not report.ok and json.loads((tmp_path / "r.json").read_text())["counts"] == {"failed": 1}


def test_name_resolution_failure_is_not_retried(dirs, monkeypatch):
    import socket

    calls = []

    def no_dns(host, *args, **kwargs):
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    man = write_manifest(dirs["manifest"], [
        {"name": f"d{i}", "file": f"d{i}.pt", "url": f"https://no-such-host.invalid/d{i}.pt", "sha256": None}
        for i in range(3)])
    start = time.monotonic()
    with pytest.raises(FetchError, match="cannot resolve host") as err:
        fetch_assets(None, profile="paper", manifest_path=man, retries=4, backoff=1.0)
    assert time.monotonic() - start < 1 and len(calls) == 1
    assert len(err.value.report.missing) == 3


def test_wrong_size_counts_as_corrupt_for_unpinned_files(server, dirs):
    base, served = server
    served.files["/z.bin"] = payload(500)
    man = write_manifest(dirs["manifest"], [{"name": "z", "file": "z.bin", "url": base + "/z.bin", "sha256": None,
                                             "size": 400}])
    with pytest.raises(FetchError, match="z: checksum mismatch after re-downloading"):
        fetch_assets(["z"], manifest_path=man, **FAST)
