"""`voicecoach bench --quick` on a tiny corpus made here with flite: the coach and the naive peer, side by side."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("flite") and shutil.which("espeak-ng")), reason="needs flite and espeak-ng"),
]

WORDS = ("stop", "go", "yes", "no")
SYSTEMS = ("coach", "peer")


def _say(text: str, voice: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus layout in miniature: four command words, a distractor, a non-target word, a
    sentence of continuous speech, a generated noise and a noise file with no samples."""
    root = tmp_path_factory.mktemp("corpus")
    for word in WORDS:
        for voice in ("slt", "rms"):
            _say(word, voice, root / "commands" / word / f"{voice}_nohash_0.wav")
    _say("left", "slt", root / "commands" / "left" / "slt_nohash_0.wav")
    _say("house", "awb", root / "other" / "sc_nontarget_words" / "house" / "awb_nohash_0.wav")
    _say(
        "The weather was warm, and the children walked slowly along the river to the old mill.",
        "kal16",
        root / "speech" / "flite" / "sentence.wav",
    )
    noise = root / "background_noise" / "generated" / "white_noise.wav"
    noise.parent.mkdir(parents=True)
    with wave.open(str(noise), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(np.random.default_rng(0).normal(0, 2000, 5 * 16_000).astype("<i2").tobytes())
    with wave.open(str(noise.parent / "cut_off.wav"), "wb") as out:  # a header and no samples: left out, named
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
    return root


@pytest.fixture(scope="module")
def results(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    from voicecoach.apps.cli import main

    out = tmp_path_factory.mktemp("bench")
    code = main(
        ["bench", "--quick", "--corpus", str(tiny_corpus), "--out", str(out / "r.json"), "--plot", str(out / "r.png")]
    )
    assert code == 0
    return json.loads((out / "r.json").read_text()), out / "r.png", str(tiny_corpus)


def _fraction(value) -> bool:
    return value is None or (isinstance(value, float | int) and 0.0 <= value <= 1.0)


def test_the_report_has_every_figure_for_both_systems(results):
    report, png, corpus = results
    assert report["corpus"] == corpus and report["engine"] == "auto"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    for system in SYSTEMS:
        figures = report[system]
        for key in ("accept_real_mean", "accept_synthetic_mean", "accept_10db_mean", "false_accept_words"):
            assert _fraction(figures[key]), (system, key, figures[key])
        assert all(_fraction(v) for v in figures["accept_real"].values())
        assert set(figures["accept_noise"]) == {"white_noise"}
        assert set(figures["accept_noise"]["white_noise"]) == {"20", "10", "5", "0"}
        assert figures["false_activations_per_hour"] >= 0
        assert isinstance(figures["self_triggers"], int) and figures["self_triggers"] >= 0
        assert figures["self_triggers_unguarded"] >= figures["self_triggers"]
        for key in ("latency_ms_p50", "latency_ms_p95"):
            assert figures[key] is None or -500 < figures[key] < 5000
        assert 0 < figures["rtf"] < 5
        assert 20 < figures["peak_rss_mb"] < 4000
    counts = report["counts"]
    assert counts["accept_real"] == {word: 2 for word in WORDS}
    assert counts["speech_files"] == 1 and counts["false_accept_words"] == 2
    assert counts["narration_sentences"] > 0


def test_both_systems_are_scored_on_every_recorded_command_word(results):
    report, _, _ = results
    for system in SYSTEMS:
        assert set(report[system]["accept_real"]) == set(WORDS)


def test_the_systems_are_measured_apart_and_clear_flite_words_are_heard(results):
    report, _, _ = results
    assert report["coach"]["recogniser"] != report["peer"]["recogniser"]
    # flite's clear "stop", "go", "yes", "no" in faint noise: each system hears most of them
    assert report["coach"]["accept_real_mean"] >= 0.5
    assert report["peer"]["accept_real_mean"] >= 0.5
    # the peer decodes every stretch of sound with a full language model; the coach decodes only
    # short utterances against its command grammar, so the peer costs more CPU per second of audio
    assert report["peer"]["rtf"] > report["coach"]["rtf"]


def test_a_worker_reports_its_own_peak_memory_not_the_benchmarks():
    import sys

    from voicecoach.bench.tasks import peak_rss_mb

    ballast = np.ones(200 * 2**20 // 8)  # 200 MB, touched, held by this process only
    probe = "from voicecoach.bench.tasks import peak_rss_mb; print(peak_rss_mb())"
    child = float(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout)
    assert peak_rss_mb() > 200 + ballast[0]
    assert child < peak_rss_mb() - 150, (child, peak_rss_mb())


def test_a_fused_engine_reports_each_engine_inside_it_alone_from_the_same_run(results):
    report, _, _ = results
    assert report["coach"]["recogniser"] == "fusion"  # what auto is
    assert set(report["parts"]) == {"spotter", "pocketsphinx"}
    for name, figures in report["parts"].items():
        assert figures["recogniser"] == name
        assert set(figures["accept_real"]) == set(WORDS)
        assert set(figures["accept_noise"]["white_noise"]) == {"20", "10", "5", "0"}
        assert _fraction(figures["accept_synthetic_mean"]) and figures["false_activations_per_hour"] >= 0
        assert figures["self_triggers"] is None and figures["peak_rss_mb"] is None  # measured for the whole only
        assert figures["rtf"] > 0 and figures["cpu_seconds"] < report["coach"]["cpu_seconds"]
