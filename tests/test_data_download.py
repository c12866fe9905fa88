"""Resumable, checksummed downloads against a real HTTP server on 127.0.0.1 (lesson 1)."""
from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from unet_course.data import DatasetError, download_file, download_massachusetts, load_massachusetts
from unet_course.data.download import MANIFEST, load_manifest


class _Handler(BaseHTTPRequestHandler):
    """Serves ``state.files``; honours Range unless told not to; can drop a connection midway."""

    def do_GET(self):
        state = self.server.state
        state.requests.append((self.path, self.headers.get("Range")))
        data = state.files.get(self.path)
        if data is None:
            self.send_error(404, "no such file")
            return
        start, status = 0, 200
        asked = self.headers.get("Range")
        if asked and state.honour_range:
            start = int(re.match(r"bytes=(\d+)-", asked).group(1))
            if start >= len(data):
                self.send_error(416, "range not satisfiable")
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        cuts = state.cut_after.get(self.path)
        if cuts:                                             # send part of the body, then hang up
            self.wfile.write(body[:cuts.pop(0)])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _State:
    def __init__(self):
        self.files, self.requests, self.cut_after, self.honour_range = {}, [], {}, True


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = _State()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd.state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _payload(n=300_000, seed=0):
    data = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    return data, hashlib.sha256(data).hexdigest()


def test_download_with_checksum_and_progress_bar(server, tmp_path, capsys):
    data, digest = _payload()
    server.files["/d/file.bin"] = data
    dest = download_file(server.url + "/d/file.bin", tmp_path / "sub" / "file.bin", sha256=digest.upper())
    assert dest == tmp_path / "sub" / "file.bin" and dest.read_bytes() == data
    assert not (tmp_path / "sub" / "file.bin.part").exists()
    assert "file.bin" in capsys.readouterr().err              # tqdm's bar names the file


def test_checksum_mismatch_names_file_expected_and_got(server, tmp_path):
    data, digest = _payload()
    server.files["/file.bin"] = data
    wrong = "0" * 64
    with pytest.raises(DatasetError, match=rf"file.bin: checksum mismatch, expected sha256 {wrong}, got {digest}"):
        download_file(server.url + "/file.bin", tmp_path / "file.bin", sha256=wrong, progress=False)
    assert list(tmp_path.iterdir()) == []                     # no .part, nothing under the final name


def test_interrupted_download_resumes_with_range(server, tmp_path):
    data, digest = _payload()
    server.files["/file.bin"] = data
    server.cut_after["/file.bin"] = [100_000]                 # the first answer stops after 100 kB
    dest = download_file(server.url + "/file.bin", tmp_path / "file.bin", sha256=digest, progress=False)
    assert dest.read_bytes() == data
    assert server.requests == [("/file.bin", None), ("/file.bin", "bytes=100000-")]


def test_giving_up_keeps_the_part_and_the_next_call_resumes(server, tmp_path):
    data, digest = _payload()
    server.files["/file.bin"] = data
    server.cut_after["/file.bin"] = [50_000] * 4              # every attempt of the first call breaks
    dest = tmp_path / "file.bin"
    with pytest.raises(DatasetError, match=r"could not download .*file.bin after 4 attempts.*resumes"):
        download_file(server.url + "/file.bin", dest, sha256=digest, progress=False)
    part = tmp_path / "file.bin.part"
    assert not dest.exists() and part.read_bytes() == data[:200_000]
    download_file(server.url + "/file.bin", dest, sha256=digest, progress=False)
    assert dest.read_bytes() == data and not part.exists()
    assert server.requests[-1] == ("/file.bin", "bytes=200000-")


def test_part_left_by_an_earlier_run_is_resumed(server, tmp_path):
    data, digest = _payload()
    server.files["/file.bin"] = data
    (tmp_path / "file.bin.part").write_bytes(data[:12_345])
    download_file(server.url + "/file.bin", tmp_path / "file.bin", sha256=digest, progress=False)
    assert (tmp_path / "file.bin").read_bytes() == data
    assert server.requests == [("/file.bin", "bytes=12345-")]


def test_server_without_range_support_restarts_from_zero(server, tmp_path):
    data, digest = _payload()
    server.files["/file.bin"] = data
    server.honour_range = False
    (tmp_path / "file.bin.part").write_bytes(b"stale bytes")
    download_file(server.url + "/file.bin", tmp_path / "file.bin", sha256=digest, progress=False)
    assert (tmp_path / "file.bin").read_bytes() == data


def test_part_longer_than_the_file_is_discarded(server, tmp_path):
    data, digest = _payload(1000)
    server.files["/file.bin"] = data
    (tmp_path / "file.bin.part").write_bytes(b"x" * 5000)
    download_file(server.url + "/file.bin", tmp_path / "file.bin", sha256=digest, progress=False)
    assert (tmp_path / "file.bin").read_bytes() == data


def test_existing_file_is_kept_when_its_checksum_matches(server, tmp_path):
    data, digest = _payload(1000)
    server.files["/file.bin"] = data
    dest = tmp_path / "file.bin"
    dest.write_bytes(data)
    download_file(server.url + "/file.bin", dest, sha256=digest, progress=False)
    download_file(server.url + "/file.bin", dest, progress=False)
    assert server.requests == []
    dest.write_bytes(b"damaged")                              # a wrong copy is fetched again
    download_file(server.url + "/file.bin", dest, sha256=digest, progress=False)
    assert dest.read_bytes() == data and len(server.requests) == 1


def test_http_error_names_the_url(server, tmp_path):
    with pytest.raises(DatasetError, match=r"/missing.bin answered HTTP 404"):
        download_file(server.url + "/missing.bin", tmp_path / "missing.bin", progress=False)
    assert list(tmp_path.iterdir()) == []


def _tiff_bytes(array, tmp_path, name):
    from conftest import write_raster
    return write_raster(tmp_path / "src" / name, array, "uint8", False).read_bytes()


def test_download_massachusetts_then_load(server, tmp_path):
    rng = np.random.default_rng(1)
    sat = _tiff_bytes(rng.integers(0, 250, (3, 300, 300)), tmp_path, "a.tiff")
    building = _tiff_bytes((rng.random((1, 300, 300)) < 0.2) * 255, tmp_path, "a.tif")
    server.files["/mass/valid/sat/a.tiff"], server.files["/mass/valid/map/a.tif"] = sat, building
    manifest = {"base_url": "https://example.invalid/unused", "files": [
        {"path": "valid/sat/a.tiff", "size": len(sat), "sha256": hashlib.sha256(sat).hexdigest()},
        {"path": "valid/map/a.tif", "size": None, "sha256": None}]}
    root = download_massachusetts(tmp_path / "cache", manifest, base_url=server.url + "/mass/")
    assert (root / "valid/sat/a.tiff").read_bytes() == sat
    tiles = load_massachusetts(root, "valid")
    assert len(tiles) == 4 and tiles.names[0] == "a_0000_0000"
    recorded = json.loads((root / "massachusetts_manifest.json").read_text())
    assert recorded["files"][1] == {"path": "valid/map/a.tif", "size": len(building),
                                    "sha256": hashlib.sha256(building).hexdigest()}
    assert recorded["downloaded_from"] == server.url + "/mass"
    manifest["files"][0]["size"] = 5                          # a size that disagrees is an error
    (root / "valid/sat/a.tiff").unlink()
    with pytest.raises(DatasetError, match=rf"a.tiff has {len(sat)} bytes; expected 5"):
        download_massachusetts(tmp_path / "cache", manifest, base_url=server.url + "/mass")


def test_repository_manifest_lists_the_official_files():
    spec = load_manifest()
    assert spec["base_url"] == "https://www.cs.toronto.edu/~vmnih/data/mass_buildings"
    paths = [f["path"] for f in spec["files"]]
    assert len(paths) == len(set(paths)) == 2 * (137 + 4 + 10)
    for split, count in (("train", 137), ("valid", 4), ("test", 10)):
        sats = {p.split("/")[-1][:-5] for p in paths if p.startswith(f"{split}/sat/") and p.endswith(".tiff")}
        maps = {p.split("/")[-1][:-4] for p in paths if p.startswith(f"{split}/map/") and p.endswith(".tif")}
        assert len(sats) == count and sats == maps
    for entry in spec["files"]:
        assert entry["sha256"] is None or re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        assert entry["size"] is None or entry["size"] > 0


def test_bad_manifests(tmp_path):
    with pytest.raises(DatasetError, match=r"nothing.json does not exist"):
        load_manifest(tmp_path / "nothing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DatasetError, match=r"bad.json is not valid JSON"):
        load_manifest(tmp_path / "bad.json")
    with pytest.raises(DatasetError, match="no valid 'files' list"):
        load_manifest({"base_url": "x", "files": [{"name": "a"}]})
    with pytest.raises(DatasetError, match="no base_url"):
        download_massachusetts(tmp_path, {"files": []})
    assert MANIFEST.name == "massachusetts_manifest.json" and MANIFEST.parent.name == "data"
