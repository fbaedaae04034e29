"""Fetching a model from the network: verified, unpacked safely, placed atomically.

Theory of operation: `install` fills a hidden staging directory beside the destination and renames
the result into place, removing the staging directory on every way out, so the destination holds
either the whole model or nothing. `fetch_verified` streams a file into it while hashing it and
refuses it unless the SHA-256 matches; `unpack` checks every member name of an archive before
writing a byte (no absolute paths, no `..`, no links or devices). The English Vosk model
(`voicecoach.hear.models.download_model`) comes as an archive; a Piper voice comes as loose files
(NAME.onnx and NAME.onnx.json), which `download_files` hashes one by one and installs together.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TextIO

from voicecoach.errors import ModelError

log = logging.getLogger(__name__)

MAX_UNPACKED_BYTES = 1 << 30  # a model bigger than 1 GiB unpacked is not the small model: refuse
NETWORK_TIMEOUT_SECONDS = 60.0
_CHUNK_BYTES = 1 << 16

# (done_bytes, total_bytes or None when unknown); the last call always has done == total.
Progress = Callable[[int, int | None], None]


# ---- downloading -------------------------------------------------------------------------------


def _open_url(url: str) -> IO[bytes]:
    """Open `url` for reading (tests replace this to simulate the network)."""
    return urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_SECONDS)  # noqa: S310


def _fetch(url: str, into: Path, progress: Progress | None) -> str:
    """Stream `url` into the file `into`; return the SHA-256 hex digest of what was written."""
    digest = hashlib.sha256()
    try:
        with _open_url(url) as response, open(into, "wb") as out:
            length = getattr(response, "headers", {}).get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while chunk := response.read(_CHUNK_BYTES):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            if progress:
                progress(done, done)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise ModelError(f"Could not download the speech model from {url}: {reason}.") from error
    return digest.hexdigest()


@dataclass(frozen=True)
class RemoteFile:
    """One file of a model that is published as loose files: where it is, its SHA-256 and size."""

    url: str
    sha256: str
    size_bytes: int | None = None


def download_files(
    files: Sequence[RemoteFile],
    dest_dir: Path,
    name: str,
    *,
    is_installed: Callable[[Path], bool],
    kind: str,
    command: str,
    progress: Progress | None = None,
    force: bool = False,
) -> Path:
    """Fetch loose files (a Piper voice: NAME.onnx and NAME.onnx.json), verify each one's SHA-256
    and install them together as the folder `dest_dir/name`, as download_model installs an archive:
    kept unless `force`, all or nothing. `is_installed` checks the folder; `kind` ("a Piper voice")
    and `command` name it in messages. `progress` counts bytes over all the files."""
    sizes = [file.size_bytes for file in files]
    total = sum(size for size in sizes if size) if all(sizes) else None

    def fill(staging: Path) -> Path:
        root = staging / "files"
        root.mkdir()
        before = 0
        for file in files:
            target = root / url_file_name(file.url)
            fetch_verified(file.url, file.sha256, target, _offset(progress, before, total))
            before += target.stat().st_size
        if progress:
            progress(before, before)  # the last call has done == total, even when sizes were unknown
        if not is_installed(root):
            raise ModelError(f"The files from {files[0].url} do not make {kind}.")
        return root

    return install(dest_dir, name, fill, is_installed=is_installed, kind=kind, command=command, force=force)


def _offset(progress: Progress | None, before: int, total: int | None) -> Progress | None:
    """Progress for one of several files, reported as progress over all of them."""
    if progress is None:
        return None
    return lambda done, _: progress(before + done, total)


def install(
    dest_dir: Path,
    name: str,
    fill: Callable[[Path], Path],
    *,
    is_installed: Callable[[Path], bool],
    kind: str,
    command: str,
    force: bool,
) -> Path:
    """The all-or-nothing part of every download: `fill` fetches and checks into a fresh staging
    folder beside the destination and returns the folder to install, which is then renamed to
    `dest_dir/name`. The staging folder is removed on every way out."""
    target = dest_dir / name
    if is_installed(target) and not force:
        log.info("%s is already installed at %s", kind, target)
        return target
    if (target.exists() or target.is_symlink()) and not force:
        raise ModelError(f"{target} exists but is not {kind}; remove it or run `{command} --force`.")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(dest_dir, name)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=dest_dir))
    except OSError as error:
        raise ModelError(f"Cannot write to the model directory {dest_dir}: {error.strerror}.") from error
    try:
        _move_into_place(fill(staging), target, staging / "replaced")
    except OSError as error:
        raise ModelError(f"Could not install the speech model in {dest_dir}: {error}.") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("installed %s at %s", kind, target)
    return target


def fetch_verified(url: str, sha256: str, into: Path, progress: Progress | None) -> None:
    """Fetch `url` into `into`; ModelError unless what arrived has the SHA-256 `sha256`."""
    actual = _fetch(url, into, progress)
    if actual != sha256.lower():
        raise ModelError(
            f"The download from {url} is corrupt or not the expected file "
            f"(SHA-256 {actual}, expected {sha256}), so it was not installed."
        )


def url_file_name(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def archive_stem(url: str) -> str:
    """The file name at the end of `url` without its archive extension."""
    base = url_file_name(url)
    for extension in (".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar"):
        if base.endswith(extension):
            return base[: -len(extension)]
    return base or "model"


def _remove_stale_staging(dest_dir: Path, name: str) -> None:
    """Remove staging directories left by a download that was killed outright."""
    for stale in dest_dir.glob(f".{name}.*.partial"):
        log.info("removing an unfinished download %s", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _move_into_place(root: Path, target: Path, aside: Path) -> None:
    """Rename `root` to `target`; an existing `target` is first renamed to `aside` (same filesystem)."""
    replaced = False
    if target.exists() or target.is_symlink():
        os.rename(target, aside)
        replaced = True
    try:
        os.rename(root, target)
    except OSError:
        if replaced:
            os.rename(aside, target)
        raise


# ---- unpacking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """One archive entry that passed the checks: a file or a directory with a safe relative path."""

    path: PurePosixPath
    is_dir: bool
    open: Callable[[], IO[bytes]]


def _safe_path(name: str, source: str) -> PurePosixPath:
    """The relative path an archive member names, or ModelError when it could escape the directory."""
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\0" in name
        or path.is_absolute()
        or (path.parts and ":" in path.parts[0])
        or ".." in path.parts
    ):
        raise ModelError(f"The model archive {source} has an unsafe member {name!r}, so it was refused.")
    return PurePosixPath(*[part for part in path.parts if part != "."])


def _zip_members(archive: zipfile.ZipFile, source: str) -> Iterator[_Member]:
    for info in archive.infolist():
        path = _safe_path(info.filename, source)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ModelError(
                f"The model archive {source} has a link or special file {info.filename!r}, so it was refused."
            )
        yield _Member(path, info.is_dir(), functools.partial(archive.open, info))


def _tar_members(archive: tarfile.TarFile, source: str) -> Iterator[_Member]:
    for info in archive.getmembers():
        path = _safe_path(info.name, source)
        if not (info.isfile() or info.isdir()):
            raise ModelError(f"The model archive {source} has a link or special file {info.name!r}, so it was refused.")
        opener = functools.partial(archive.extractfile, info)
        yield _Member(path, info.isdir(), opener)  # type: ignore[arg-type]


def unpack(archive_path: Path, into: Path) -> Path:
    """Unpack a zip or tar archive into the new directory `into`, checking every member first.

    Returns the model root: `into`, or the single top-level directory the archive wraps it in.
    """
    source = archive_path.name
    try:
        if zipfile.is_zipfile(archive_path):
            with zipfile.ZipFile(archive_path) as archive:
                _write_members(list(_zip_members(archive, source)), into, source)
        elif tarfile.is_tarfile(archive_path):
            with tarfile.open(archive_path) as archive:
                _write_members(list(_tar_members(archive, source)), into, source)
        else:
            raise ModelError(f"The model archive {source} is neither a zip nor a tar file.")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        raise ModelError(f"The model archive {source} is damaged: {error}.") from error
    top = {member.parts[0] for member in _relative_files(into)}
    if len(top) == 1 and (into / next(iter(top))).is_dir():
        return into / next(iter(top))
    return into


def _relative_files(root: Path) -> list[PurePosixPath]:
    return [PurePosixPath(p.relative_to(root).as_posix()) for p in root.rglob("*")]


def _write_members(members: list[_Member], into: Path, source: str) -> None:
    """Write the already-checked members under `into` with plain permissions."""
    into.mkdir(mode=0o755)
    written = 0
    for member in members:
        if not member.path.parts:
            continue
        destination = into.joinpath(*member.path.parts)
        if member.is_dir:
            destination.mkdir(mode=0o755, parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        with member.open() as data, open(destination, "wb") as out:
            written += _copy(data, out, MAX_UNPACKED_BYTES - written, source)


def _copy(data: IO[bytes], out: IO[bytes], budget: int, source: str) -> int:
    """Copy one member's bytes, at most `budget` of them; return how many."""
    count = 0
    while chunk := data.read(_CHUNK_BYTES):
        count += len(chunk)
        if count > budget:
            raise ModelError(f"The model archive {source} unpacks to more than 1 GiB, so it was refused.")
        out.write(chunk)
    return count


# ---- progress ----------------------------------------------------------------------------------


class ProgressLine:
    """A one-line progress display for `download_model(progress=...)`, redrawn in place; with
    `unit` other than "MB", counts things ("12 of 130 phrases")."""

    def __init__(
        self, stream: TextIO = sys.stderr, label: str = "Downloading the speech model", unit: str = "MB"
    ) -> None:
        self._stream = stream
        self._label = label
        self._unit = unit
        self._shown: str | None = None
        self._finished = False

    def __call__(self, done: int, total: int | None) -> None:
        if self._unit == "MB":
            amount = f"{done / 1e6:5.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:5.1f} MB"
        else:
            amount = f"{done} of {total} {self._unit}" if total else f"{done} {self._unit}"
        if total:
            fraction = min(done / total, 1.0)
            bar = "#" * int(fraction * 30)
            line = f"{self._label} [{bar:<30}] {amount} {fraction:4.0%}"
        else:
            line = f"{self._label} {amount}"
        if line != self._shown:
            self._stream.write("\r" + line)
            self._shown = line
        if total is not None and done >= total and not self._finished:
            self._stream.write("\n")
            self._finished = True
        self._stream.flush()
