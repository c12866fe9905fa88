"""`unet-course download`: the official files from a (local) server into the layout training reads."""
import functools
import http.server
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
import rasterio


def write_tiff(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    bands = array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0],
                       count=bands.shape[0], dtype="uint8") as dst:
        dst.write(bands)


@pytest.fixture
def mirror(tmp_path):
    """A folder in the official layout served over HTTP on 127.0.0.1, with its manifest."""
    root = tmp_path / "mirror"
    rng = np.random.default_rng(0)
    write_tiff(root / "train/sat/a.tiff", rng.integers(0, 200, (300, 300, 3), dtype=np.uint8))
    write_tiff(root / "train/map/a.tif", (rng.random((300, 300)) > 0.8).astype(np.uint8) * 255)
    files = [{"path": p, "size": None, "sha256": None} for p in ("train/sat/a.tiff", "train/map/a.tif")]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"base_url": "http://unused.invalid", "files": files}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", manifest
    server.shutdown()
    server.server_close()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "unet_course", *args],
                          capture_output=True, text=True, timeout=300)


def test_download_then_the_files_load(mirror, tmp_path):
    url, manifest = mirror
    dest = tmp_path / "mass"
    done = run_cli("download", "--dest", str(dest), "--manifest", str(manifest), "--base-url", url)
    assert done.returncode == 0, done.stderr
    assert f"--data massachusetts:{dest}" in done.stdout
    recorded = json.loads((dest / "massachusetts_manifest.json").read_text())
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in recorded["files"])
    from unet_course.data import load_massachusetts
    tiles = load_massachusetts(dest, "train")
    assert tiles.images.shape[1:] == (256, 256, 3) and len(tiles) >= 1


def test_download_from_a_dead_server_is_one_error_line(mirror, tmp_path):
    _, manifest = mirror
    done = run_cli("download", "--dest", str(tmp_path / "x"), "--manifest", str(manifest),
                   "--base-url", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in done.stderr
