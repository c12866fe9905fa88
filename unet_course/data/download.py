"""Downloading the official Massachusetts Buildings files: resume, checksum, progress bar.

Lesson 1, "Aerial tiles and masks", runs this once to fetch the real data.
A download that breaks halfway is the usual case on a laptop's Wi-Fi, so:

- bytes go to ``<name>.part``; the next attempt asks the server only for the
  missing bytes (an HTTP ``Range`` request) and appends them;
- the file gets its final name only after its SHA-256 checksum matches (when
  one is known), so nothing half-written ever sits under the final name;
- a wrong checksum raises :class:`DatasetError` naming the file, the
  expected and the computed checksum, and deletes the ``.part`` file.

The project downloads the data from its official location and never
redistributes it (its licence is unstated; its labels come from
OpenStreetMap, ODbL).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from unet_course.data.errors import DatasetError

CHUNK_BYTES = 1 << 16
RETRIES = 3                     # extra attempts after a dropped connection, each resuming
TIMEOUT_S = 60
MANIFEST = Path(__file__).resolve().parents[2] / "data" / "massachusetts_manifest.json"
RECORDED_MANIFEST = "massachusetts_manifest.json"


def sha256_of(path) -> str:
    """Hex SHA-256 checksum of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, part: Path, progress: bool) -> None:
    """Append the missing bytes of ``url`` to ``part``; raise ConnectionError if cut short."""
    from tqdm.auto import tqdm

    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        if have and response.status != 206:                  # the server ignored Range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(part, "ab" if have else "wb") as out, \
                tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                     desc=part.name[:-len(".part")], disable=not progress, leave=False) as bar:
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                out.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size < total:
        raise ConnectionError(f"connection closed after {size} of {total} bytes")


def download_file(url: str, dest, sha256: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming a partial download, checking the checksum.

    Parameters
    ----------
    url : str
        What to fetch (http or https).
    dest : str or pathlib.Path
        The final file name. A file already there is kept when its checksum
        matches (or when no checksum is given), and fetched again otherwise.
    sha256 : str, optional
        Expected hex SHA-256. Without it the file is not verified.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DatasetError
        On an HTTP error, after :data:`RETRIES` dropped connections (the
        ``.part`` file stays, and the next call resumes it), or when the
        checksum does not match (the ``.part`` file is deleted).
    """
    dest = Path(dest)
    expected = sha256.lower() if sha256 else None
    if dest.is_file():
        if expected is None or sha256_of(dest) == expected:
            return dest
        dest.unlink()                                         # a damaged or stale copy: fetch again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failure = None
    for _ in range(RETRIES + 1):
        try:
            _fetch(url, part, progress)
            break
        except urllib.error.HTTPError as err:
            if err.code == 416 and part.exists():             # the .part is longer than the file
                part.unlink()
                failure = err
                continue
            raise DatasetError(f"{url} answered HTTP {err.code} ({err.reason}); "
                               f"expected the file {dest.name}") from err
        except (OSError, http.client.HTTPException) as err:   # dropped or refused connection, timeout
            failure = err
    else:
        raise DatasetError(f"could not download {url} after {RETRIES + 1} attempts ({failure}); "
                           f"{part} keeps the bytes received and the next call resumes it")
    if expected is not None:
        got = sha256_of(part)
        if got != expected:
            part.unlink()
            raise DatasetError(f"{dest.name}: checksum mismatch, expected sha256 {expected}, "
                               f"got {got}; the partial file was deleted, download it again")
    os.replace(part, dest)
    return dest


def load_manifest(manifest=None) -> dict:
    """Read a download manifest: a dict, a JSON file, or (None) the repository's default.

    A manifest has ``base_url`` and ``files``, a list of ``{"path": ...,
    "size": int or null, "sha256": str or null}`` with paths relative to
    ``base_url`` and to the destination folder.
    """
    if isinstance(manifest, dict):
        spec, origin = manifest, "the manifest dict"
    else:
        path = Path(manifest) if manifest is not None else MANIFEST
        if not path.is_file():
            raise DatasetError(f"{path} does not exist; expected a download manifest (JSON)")
        try:
            spec = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise DatasetError(f"{path} is not valid JSON ({err}); expected a download manifest") from err
        origin = str(path)
    files = spec.get("files") if isinstance(spec, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, dict) and "path" in f for f in files):
        raise DatasetError(f"{origin} has no valid 'files' list; expected entries with a 'path'")
    return spec


def download_massachusetts(dest, manifest=None, base_url=None) -> Path:
    """Download every file of the official Massachusetts Buildings data set (lesson 1).

    Files land in ``dest`` in the official layout (``train/sat/<name>.tiff``,
    ``train/map/<name>.tif``, ...), ready for
    :func:`unet_course.data.load_massachusetts`. Files already complete are
    skipped, partial ones resumed. Afterwards ``dest/massachusetts_manifest.json``
    records every file's size and SHA-256: copy it over the repository's
    ``data/massachusetts_manifest.json`` to pin the checksums.

    Parameters
    ----------
    dest : str or pathlib.Path
        Destination folder, e.g. ``data/cache/massachusetts`` (git-ignored).
    manifest : dict, str or pathlib.Path, optional
        The file list; default ``data/massachusetts_manifest.json``.
    base_url : str, optional
        Replaces the manifest's ``base_url`` (a mirror, or a test server).

    Returns
    -------
    pathlib.Path
        ``dest``.
    """
    spec = load_manifest(manifest)
    base = (base_url or spec.get("base_url") or "").rstrip("/")
    if not base:
        raise DatasetError("no base_url given and the manifest has none; expected the server address")
    dest = Path(dest)
    recorded = []
    for entry in spec["files"]:
        target = dest / entry["path"]
        download_file(f"{base}/{entry['path']}", target, entry.get("sha256"))
        size = target.stat().st_size
        if entry.get("size") is not None and size != entry["size"]:
            target.unlink()
            raise DatasetError(f"{target} has {size} bytes; expected {entry['size']} (file deleted)")
        recorded.append({**entry, "size": size, "sha256": entry.get("sha256") or sha256_of(target)})
    record = {**spec, "files": recorded, "downloaded_from": base}
    (dest / RECORDED_MANIFEST).write_text(json.dumps(record, indent=1) + "\n")
    return dest
