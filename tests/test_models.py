"""Finding models, and downloading one: checksum first, safe unpacking, all or nothing."""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import pytest

from voicecoach import fetch
from voicecoach.errors import ModelError
from voicecoach.hear import models

MODEL_FILES = {
    "am/final.mdl": b"acoustic model",
    "conf/mfcc.conf": b"--use-energy=false\n",
    "conf/model.conf": b"--min-active=200\n",
    "graph/Gr.fst": b"grammar",
    "README": b"a tiny fake Vosk model\n",
}


def make_zip(path: Path, files: dict[str, bytes], top: str = "vosk-model-test") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{top}/{name}" if top else name, data)
    return path


def make_tar(path: Path, files: dict[str, bytes], top: str = "vosk-model-test") -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install(archive: Path, dest: Path, **kwargs: object) -> Path:
    """download_model from a file:// URL, with the archive's true checksum unless told otherwise."""
    kwargs.setdefault("sha256", sha256_of(archive))
    return models.download_model(dest, url=archive.as_uri(), **kwargs)  # type: ignore[arg-type]


def visible_and_hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# ---- a good archive ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [make_zip, make_tar], ids=["zip", "tar.gz"])
def test_a_verified_archive_installs_the_model_and_nothing_else(tmp_path: Path, make) -> None:
    suffix = ".zip" if make is make_zip else ".tar.gz"
    archive = make(tmp_path / f"vosk-model-test{suffix}", MODEL_FILES)
    dest = tmp_path / "models"
    seen: list[tuple[int, int | None]] = []

    installed = install(archive, dest, progress=lambda done, total: seen.append((done, total)))

    assert installed == dest / "vosk-model-test"
    assert models.is_vosk_model(installed)
    for name, data in MODEL_FILES.items():
        assert (installed / name).read_bytes() == data
    assert visible_and_hidden(dest) == ["vosk-model-test"]  # no archive, no staging directory
    size = archive.stat().st_size
    assert seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_an_archive_without_a_top_directory_installs_under_its_name(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "flat-model.zip", MODEL_FILES, top="")
    installed = install(archive, tmp_path / "models")
    assert installed == tmp_path / "models" / "flat-model"
    assert (installed / "am" / "final.mdl").read_bytes() == b"acoustic model"


def test_an_installed_model_is_kept_and_not_fetched_again(tmp_path: Path, monkeypatch) -> None:
    archive = make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES)
    dest = tmp_path / "models"
    installed = install(archive, dest)
    monkeypatch.setattr(fetch, "_open_url", lambda url: pytest.fail("fetched again"))
    assert install(archive, dest) == installed


def test_force_replaces_an_installed_model(tmp_path: Path) -> None:
    dest = tmp_path / "models"
    install(make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES), dest)
    newer = dict(MODEL_FILES, **{"am/final.mdl": b"a better acoustic model"})
    installed = install(make_zip(tmp_path / "newer.zip", newer), dest, name="vosk-model-test", force=True)
    assert (installed / "am" / "final.mdl").read_bytes() == b"a better acoustic model"
    assert visible_and_hidden(dest) == ["vosk-model-test"]


def test_a_directory_in_the_way_is_not_deleted_without_force(tmp_path: Path) -> None:
    (tmp_path / "models" / "vosk-model-test").mkdir(parents=True)
    (tmp_path / "models" / "vosk-model-test" / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="not a Vosk model.*--force"):
        install(make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES), tmp_path / "models")
    assert (tmp_path / "models" / "vosk-model-test" / "notes.txt").read_text() == "mine"


# ---- refusals leave nothing behind -------------------------------------------------------------


def test_a_wrong_checksum_is_refused_before_unpacking(tmp_path: Path, monkeypatch) -> None:
    archive = make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES)
    monkeypatch.setattr(models, "unpack", lambda *a: pytest.fail("unpacked an unverified archive"))
    with pytest.raises(ModelError, match="SHA-256") as error:
        install(archive, tmp_path / "models", sha256="0" * 64)
    assert "\n" not in str(error.value)
    assert visible_and_hidden(tmp_path / "models") == []


@pytest.mark.parametrize(
    "member",
    ["../evil", "vosk-model-test/../../evil", "/etc/evil", "vosk-model-test\\..\\evil", "C:/evil"],
)
def test_members_that_could_escape_are_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "vosk-model-test.zip"
    make_zip(archive, MODEL_FILES)
    with zipfile.ZipFile(archive, "a") as bad:
        bad.writestr(member, b"owned")
    with pytest.raises(ModelError, match="unsafe member"):
        install(archive, tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == []
    assert not (tmp_path / "evil").exists()


def test_tar_traversal_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "vosk-model-test.tar.gz", dict(MODEL_FILES, **{"../../evil": b"x"}))
    with pytest.raises(ModelError, match="unsafe member"):
        install(archive, tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == []


def test_a_zip_symlink_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES)
    link = zipfile.ZipInfo("vosk-model-test/graph/words.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "a") as bad:
        bad.writestr(link, "/etc/passwd")
    with pytest.raises(ModelError, match="link or special file"):
        install(archive, tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == []


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_tar_links_are_refused(tmp_path: Path, kind: bytes) -> None:
    archive = tmp_path / "vosk-model-test.tar.gz"
    with tarfile.open(archive, "w:gz") as bad:
        for name, data in MODEL_FILES.items():
            info = tarfile.TarInfo(f"vosk-model-test/{name}")
            info.size = len(data)
            bad.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("vosk-model-test/graph/words.txt")
        link.type = kind
        link.linkname = "/etc/passwd"
        bad.addfile(link)
    with pytest.raises(ModelError, match="link or special file"):
        install(archive, tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == []


def test_an_archive_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "holiday-photos.zip", {"beach.jpg": b"\xff\xd8"})
    with pytest.raises(ModelError, match="does not contain a Vosk model"):
        install(archive, tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == []


def test_a_damaged_archive_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES)
    archive.write_bytes(archive.read_bytes()[:-40])  # the central directory is cut short
    with pytest.raises(ModelError):
        install(archive, tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_an_interrupted_unpacking_leaves_no_partial_model(tmp_path: Path, monkeypatch, interruption) -> None:
    archive = make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES)
    real_copy = fetch._copy
    copied: list[int] = []

    def copy_then_fail(*args):
        if len(copied) == 2:
            raise interruption
        copied.append(real_copy(*args))
        return copied[-1]

    monkeypatch.setattr(fetch, "_copy", copy_then_fail)
    expected = KeyboardInterrupt if interruption is KeyboardInterrupt else ModelError
    with pytest.raises(expected):
        install(archive, tmp_path / "models")
    assert len(copied) == 2  # it really was interrupted part way
    assert visible_and_hidden(tmp_path / "models") == []


def test_an_interrupted_replacement_keeps_the_old_model(tmp_path: Path, monkeypatch) -> None:
    dest = tmp_path / "models"
    install(make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES), dest)
    monkeypatch.setattr(fetch, "_copy", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        install(make_zip(tmp_path / "newer.zip", MODEL_FILES), dest, name="vosk-model-test", force=True)
    assert visible_and_hidden(dest) == ["vosk-model-test"]
    assert (dest / "vosk-model-test" / "am" / "final.mdl").read_bytes() == b"acoustic model"


def test_a_staging_directory_left_by_a_killed_download_is_cleaned_up(tmp_path: Path) -> None:
    stale = tmp_path / "models" / ".vosk-model-test.k1ll3d.partial"
    (stale / "unpacked").mkdir(parents=True)
    install(make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES), tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == ["vosk-model-test"]


def test_a_network_failure_is_one_sentence(tmp_path: Path, monkeypatch) -> None:
    def no_network(url: str):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(fetch, "_open_url", no_network)
    with pytest.raises(ModelError, match=r"^Could not download .*name resolution\.$"):
        models.download_model(tmp_path / "models")
    assert visible_and_hidden(tmp_path / "models") == []


def test_by_default_it_installs_in_the_default_models_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_zip(tmp_path / "vosk-model-test.zip", MODEL_FILES)
    monkeypatch.setattr(models, "default_models_dir", lambda: tmp_path / "default")
    installed = models.download_model(url=archive.as_uri(), sha256=sha256_of(archive))
    assert installed == tmp_path / "default" / "vosk-model-test"


def test_the_default_is_the_small_english_model_with_a_pinned_checksum() -> None:
    assert models.SMALL_EN_US.url == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    assert len(models.SMALL_EN_US.sha256) == 64
    int(models.SMALL_EN_US.sha256, 16)
    assert fetch.archive_stem(models.SMALL_EN_US.url) == models.SMALL_EN_US.name


def test_the_progress_line_ends_once_with_a_newline() -> None:
    out = io.StringIO()
    line = fetch.ProgressLine(out, label="Model")
    for done in (0, 500_000, 1_000_000):
        line(done, 1_000_000)
    line(1_000_000, 1_000_000)
    text = out.getvalue()
    assert text.endswith("100%\n") and text.count("\n") == 1
    assert "[###############               ]" in text  # half way


# ---- finding a model ---------------------------------------------------------------------------


def fake_model(path: Path) -> Path:
    for name, data in MODEL_FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


@pytest.fixture
def no_models_anywhere(tmp_path: Path, monkeypatch) -> Path:
    """Search only an empty working directory and an empty per-user directory."""
    monkeypatch.delenv(models.ENV_VOSK_MODEL, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(models, "_checkout_models_dir", lambda: None)
    return tmp_path


def test_explicit_beats_environment_beats_search(no_models_anywhere: Path, monkeypatch) -> None:
    found = fake_model(no_models_anywhere / "models" / "vosk-model-small-en-us-0.15")
    assert models.find_vosk_model(None) == found
    monkeypatch.setenv(models.ENV_VOSK_MODEL, "/from/env")
    assert models.find_vosk_model(None) == Path("/from/env")
    assert models.find_vosk_model(Path("/explicit")) == Path("/explicit")


def test_nothing_found_is_none(no_models_anywhere: Path) -> None:
    (no_models_anywhere / "models" / "not-a-model").mkdir(parents=True)
    assert models.find_vosk_model(None) is None


def test_the_user_data_directory_is_searched(no_models_anywhere: Path) -> None:
    found = fake_model(no_models_anywhere / "data" / "voicecoach" / "models" / "vosk-model-en-us-0.22")
    assert models.find_vosk_model(None) == found


def test_the_default_english_model_is_preferred_and_staging_is_ignored(no_models_anywhere: Path) -> None:
    directory = no_models_anywhere / "models"
    fake_model(directory / ".vosk-model-small-en-us-0.15.abc.partial")
    fake_model(directory / "a-model-sorted-first")
    preferred = fake_model(directory / "vosk-model-small-en-us-0.15")
    assert models.find_vosk_model(None) == preferred
