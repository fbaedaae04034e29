"""Choosing the fusion rule's thresholds on the tune speakers, never on the bench's held-out ones.

    python -m voicecoach.bench.tunefusion [--corpus DIR] [--out build/fusion-tune.json]

Theory of operation: the spotter and the (looser) grammar recogniser are run once over streams built
as the benchmark builds them, from the corpus speakers of the spotter's *tune* split (real commands,
the same at 10 dB SNR in every noise, the same again while the coach talks, non-command words,
continuous speech, with and without the coach talking) and from synthetic voices neither the
benchmark uses nor the spotter trained on (for the words with no real recordings). "While the coach
talks" is `with_echo`: the narration of the short routine, `ECHO_BELOW_VOICE_DB` under the median
speaker, reaches the microphone through a short room and the session's echo canceller (converged on
`ECHO_PRIME_SECONDS` of it) takes it out again; that is when a user says "stop" most.

False activations need more speech than the tune speakers read (2.3 minutes: one false activation
there reads 26 an hour, and the spotter alone and every looser setting have the same one), so they
are counted over the tune and the train speakers' speech (16 minutes, and again while the coach
talks). The spotter learnt to reject
the train speakers' speech, so there it looks far safer than it is (3.9 false activations an hour
alone, against 54 on the held-out speakers): the count is a lower bound, which still tells a setting
that adds false activations from one that does not, but cannot show what lowering the spotter's own
bar costs. So the spotter never acts alone below its own tuned threshold and steps (`GRID` only
searches stricter ones), and never alone on a word it learnt from synthetic speech only (the tune
split has no real recordings of those words, and its synthetic voices here are ones it trained on). Every input of the fusion
rule is recorded (`FusedRecogniser.trace`), so each candidate setting is judged by replaying the
record, in well under a second, instead of hearing the audio again. The settings are searched one
option at a time (coordinate ascent, a few rounds; options that only act together, `TOGETHER`, as
one), climbing from a plain start and from the rule in force, for the best score:

    score = 0.3 real + 0.2 while the coach talks + 0.25 at 10 dB + 0.25 synthetic
            -  2 x non-command words accepted  -  2 x commands heard as another command
            -  0.004 x false activations an hour of speech

(so one false activation in the 32 minutes of speech costs about 0.75 points of acceptance, and
1 % of non-command words, or of commands heard as another, two: a wrong command is worse than a
missed one, and acceptance alone counts them the same). The best setting, the default's and every engine
alone are written to --out; `voicecoach.hear.fusion.engine.TUNED` records the chosen values.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import random
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.bench import measure, stream
from voicecoach.bench.corpus import DEFAULT_CORPUS, Clip, read_wav, spread
from voicecoach.bench.heldout import SplitCorpus
from voicecoach.bench.synth import synthetic_phrases
from voicecoach.core.commands import PHRASES
from voicecoach.errors import VoicecoachError
from voicecoach.hear import SAMPLE_RATE
from voicecoach.hear.fusion.decide import FusionOptions
from voicecoach.hear.fusion.engine import TUNED, FusedRecogniser, replay

log = logging.getLogger(__name__)

# The options searched, and the values tried for each.
GRID: dict[str, tuple[Any, ...]] = {
    "spotter_alone": (0.95, 0.975, 0.99),  # and the spotter's own threshold: never below it
    "spotter_alone_steps": (3,),  # and its own steps running: never fewer
    "grammar_alone": (0.82, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 1.01),
    "grammar_floor": (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8),
    "agree": (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9),
    "agree_untrusted": (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7),
    "veto": (0.3, 0.5, 0.7, 0.9, 1.01),
    "after_seconds": (0.3, 0.5, 0.8),
    "weak_floor": (0.45, 0.5, 0.55, 1.01),
    "relabel": (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.01),
    "relabel_floor": (0.5, 0.56, 0.6, 0.7, 0.8),
    "agree_weak": (0.3, 0.5, 0.7, 0.8, 0.9, 0.95),
    "agree_weak_untrusted": (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01),
}
SNR_DB = 10.0
ECHO_BELOW_VOICE_DB = 6.0  # the coach's voice in the microphone, below the median user's: about realstop's -12 dB
ECHO_PRIME_SECONDS = 10.0  # of the coach talking before the stream: a session's canceller has long converged
ROUNDS = 3
# Options that only act together, searched as one: the spotter alone (how sure, how many steps) and
# weak candidates (from how weak, and the spotter's support each kind of word needs). One at a time,
# the search cannot turn weak candidates on or off: either change alone does nothing, or harm.
TOGETHER = (("spotter_alone", "spotter_alone_steps"), ("weak_floor", "agree_weak", "agree_weak_untrusted"))
NOISE_CLIPS = 48  # real tune clips heard in each noise (of 130)


@dataclass
class Recorded:
    """One stream heard once: the rule's inputs, where the clips lie, and what each should be heard as."""

    kind: str  # real, echo, noise, synthetic, false_accept, speech or speech_train (either with _echo)
    trace: list[tuple[str, Any]]
    origin_seconds: float  # the recogniser's clock when the stream began
    placed: list[stream.Placed]
    clips: list[Clip]
    seconds: float


def synthetic_voices() -> list[Any]:
    """Voices for the words with no real recordings: festival's slt at three speeds, the one voice
    installed here that neither the benchmark uses nor the spotter trained on. (Voices the spotter
    trained on make it look sure of words it barely knows: tuned on some, fusion trusted its weak
    support and then missed flite's plain "stop" and "yes".)"""
    from dataclasses import replace

    from voicecoach.apps.trainspotter.voices import HELD_OUT_VOICES

    festival = [v for v in HELD_OUT_VOICES if v.engine == "festival" and v.available()]
    return [replace(v, speed=speed) for v in festival for speed in (0.9, 1.0, 1.12)]


def record(corpus_root: Path, workdir: Path, seed: int = 1) -> list[Recorded]:
    """Hear the tune split once through the fused recogniser, recording the rule's inputs."""
    from voicecoach.hear.engines import open_fusion

    corpus = SplitCorpus(corpus_root, "tune")
    corpus.check()
    rng = random.Random(seed)
    by_word = corpus.command_clips()
    real = [clip for clips in by_word.values() for clip in clips]
    main_words = {w: [c for c in real if c.label == w] for w in by_word if len(by_word[w]) >= 10}
    noise_clips = spread(main_words, NOISE_CLIPS, rng)
    # every non-command word of the tune speakers (179): a sample of 15 a word once left out the
    # three "left"s that the shipped rule heard as "next"
    distractors = [clip for clips in corpus.distractor_clips().values() for clip in clips]
    voice_dbfs = statistics.median(stream.speech_dbfs(read_wav(c.path)) for c in real)
    synthetic = _synthesise(synthetic_phrases(set(by_word)), voice_dbfs, workdir)
    trace: list[tuple[str, Any]] = []
    # the shipped model, whoever enrolled here; weak candidates heard, so that their floor can be searched
    recogniser = open_fusion(trace=trace, enrolled=False, weak_floor=min(GRID["weak_floor"]))
    assert isinstance(recogniser, FusedRecogniser)
    cost = measure.Cost()
    nrng = np.random.default_rng(seed)
    recorded: list[Recorded] = []

    narration = coach_talking(workdir)

    def hear(kind: str, clips: list[Clip], recordings: list[np.ndarray], noise: np.ndarray | None = None) -> None:
        gap = 0.5 if kind.startswith("speech") else None
        if gap is None:
            pcm, placed = stream.build(recordings, nrng, noise, SNR_DB if noise is not None else None)
        else:
            pcm, placed = stream.build(recordings, nrng, gap_seconds=gap)
        if kind.endswith("echo"):
            pcm = with_echo(pcm, narration, voice_dbfs - ECHO_BELOW_VOICE_DB, nrng)
        origin, first = cost.audio_seconds, len(trace)
        measure.run(recogniser, pcm, nrng, cost)
        recorded.append(Recorded(kind, trace[first:], origin, placed, clips, len(pcm) / SAMPLE_RATE))
        log.info("%s: %d clips, %.0f s heard", kind, len(clips), len(pcm) / SAMPLE_RATE)

    hear("real", real, [read_wav(c.path) for c in real])
    hear("echo", real, [read_wav(c.path) for c in real])
    for path in corpus.noise_files().values():
        hear("noise", noise_clips, [read_wav(c.path) for c in noise_clips], read_wav(path))
    hear("false_accept", distractors, [read_wav(c.path) for c in distractors])
    hear("synthetic", synthetic, [read_wav(c.path) for c in synthetic])
    files = corpus.speech_files()
    train = SplitCorpus(corpus_root, "train").speech_files()
    for kind in ("speech", "speech_echo"):
        hear(kind, [Clip(str(f), "speech", None) for f in files], [read_wav(f) for f in files])
    for kind in ("speech_train", "speech_train_echo"):
        for shard in (train[0::2], train[1::2]):
            hear(kind, [Clip(str(f), "speech", None) for f in shard], [read_wav(f) for f in shard])
    return recorded


def coach_talking(workdir: Path) -> np.ndarray:
    """The coach's narration of the short routine (the one `realstop` hears) without its pauses: each
    sentence as the session's synthesiser says it, a quarter of a second apart."""
    from voicecoach.bench.synth import read_narration, render_narration

    wav, sentences = render_narration(workdir / "narration", "short")
    track = read_wav(wav).astype(np.float64)
    gap = np.zeros(SAMPLE_RATE // 4)
    pieces = [track[round(s.start * SAMPLE_RATE) : round(s.end * SAMPLE_RATE)] for s in read_narration(sentences)]
    return np.concatenate([p for piece in pieces for p in (piece, gap)])


def with_echo(pcm: np.ndarray, narration: np.ndarray, level_dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """`pcm` as the recogniser hears it while the coach talks: the narration, at `level_dbfs`, reaches
    the microphone through a short room (as the spotter's training places it), and the session's echo
    canceller, converged on `ECHO_PRIME_SECONDS` of it first, takes it out again."""
    from voicecoach.apps.trainspotter.rooms import cancelled
    from voicecoach.hear.echo import make_echo_canceller

    prime = round(ECHO_PRIME_SECONDS * SAMPLE_RATE)
    played, leak = coach_leak(narration, prime + len(pcm), level_dbfs, rng)
    mic = np.concatenate([np.zeros(prime), pcm.astype(np.float64)]) + leak
    out = cancelled(mic, played, prime, make_echo_canceller())
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def coach_leak(
    narration: np.ndarray, length: int, level_dbfs: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`length` samples of the coach talking at `level_dbfs` from a random point of `narration`: what
    the speaker played, and what of it reaches the microphone through a short room (as the spotter's
    training places it)."""
    from voicecoach.apps.trainspotter.rooms import speaker_path

    played = stream.looped(narration, int(rng.integers(len(narration))), length)
    played = stream.scaled(played, level_dbfs - stream.active_dbfs(narration))
    return played, speaker_path(played, rng)


def _synthesise(phrases: list[str], voice_dbfs: float, workdir: Path, per_phrase: int = 3) -> list[Clip]:
    from voicecoach.bench.corpus import write_wav

    voices = synthetic_voices()
    if not voices:
        raise VoicecoachError("tuning fusion needs festival's cmu_us_slt_arctic_hts voice (festvox-us-slt-hts)")
    workdir.mkdir(parents=True, exist_ok=True)
    clips = []
    for n, phrase in enumerate(phrases):
        for k in range(per_phrase):
            voice = voices[(n * per_phrase + k) % len(voices)]
            samples = voice.render(phrase)
            level = stream.scaled(samples, voice_dbfs - stream.speech_dbfs(samples))
            out = workdir / f"{n}-{k}.wav"
            write_wav(out, level)
            clips.append(Clip(str(out), f"{phrase}|{voice.label}", PHRASES[phrase]))
    return clips


def figures(recorded: list[Recorded], options: FusionOptions | None = None, part: str | None = None) -> dict[str, Any]:
    """Acceptance, non-command words and false activations of the rule under `options` (or, with
    `part`, of one engine alone as recorded), over the recorded streams."""
    accepted: dict[str, list[bool]] = {"real": [], "echo": [], "noise": [], "synthetic": []}
    wrong: list[bool] = []  # a command clip over which another command was heard
    distractors: list[bool] = []
    speech = ("speech", "speech_echo", "speech_train", "speech_train_echo")
    hits = dict.fromkeys(speech, 0)
    seconds = dict.fromkeys(speech, 0.0)
    for rec in recorded:
        events = replayed_events(rec, options, part)
        if rec.kind in hits:
            hits[rec.kind] += len(events)
            seconds[rec.kind] += rec.seconds
            continue
        outcomes = measure.score(events, rec.placed, [c.intent for c in rec.clips])
        if rec.kind == "false_accept":
            distractors += [bool(o.heard) for o in outcomes]
        else:
            accepted[rec.kind] += [o.accepted for o in outcomes]
            wrong += [
                any(PHRASES.get(phrase) is not clip.intent for phrase in o.heard)
                for o, clip in zip(outcomes, rec.clips)
            ]
    out = {kind: float(np.mean(flags)) if flags else 0.0 for kind, flags in accepted.items()}
    out["false_accept_words"] = float(np.mean(distractors)) if distractors else 0.0
    out["wrong_commands"] = float(np.mean(wrong)) if wrong else 0.0
    every = sum(seconds.values())
    out["false_activations_per_hour"] = sum(hits.values()) / (every / 3600) if every else 0.0
    for kind in ("speech", "speech_echo"):
        out[f"false_activations_per_hour_tune_{kind}"] = hits[kind] / (seconds[kind] / 3600) if seconds[kind] else 0.0
    echo_seconds = seconds["speech_echo"] + seconds["speech_train_echo"]
    out["false_activations_per_hour_echo"] = (
        (hits["speech_echo"] + hits["speech_train_echo"]) / (echo_seconds / 3600) if echo_seconds else 0.0
    )
    out["score"] = (
        0.3 * out["real"]
        + 0.2 * out["echo"]
        + 0.25 * out["noise"]
        + 0.25 * out["synthetic"]
        - 2 * out["false_accept_words"]
        - 2 * out["wrong_commands"]
        - 0.004 * out["false_activations_per_hour"]
    )
    return {k: round(v, 4) for k, v in out.items()}


def replayed_events(rec: Recorded, options: FusionOptions | None, part: str | None) -> list[measure.Event]:
    if part is None:
        assert options is not None
        acted = replay(rec.trace, options)
    else:
        acted = _alone(rec.trace, part)
    return [
        measure.Event(
            dataclasses.replace(
                h, start_seconds=h.start_seconds - rec.origin_seconds, end_seconds=h.end_seconds - rec.origin_seconds
            ),
            fed / SAMPLE_RATE,
        )
        for h, fed in acted
    ]


def _alone(trace: list[tuple[str, Any]], part: str) -> list[tuple[Any, int]]:
    """The grammar's candidates it would have accepted alone (part "grammar"); the spotter alone is
    the rule with nothing but the spotter's own threshold (part "spotter")."""
    if part == "spotter":
        return replay(trace, FusionOptions(spotter_trusted=frozenset(), spotter_alone_untrusted=0.925, grammar_floor=2))
    accepts = 1.0 / (1.0 + np.exp(-1.5))  # as engines.open_fusion loosens PocketSphinx
    return replay(
        trace, FusionOptions(spotter_alone_untrusted=2, spotter_alone=2, grammar_alone=accepts, veto=2, agree=2)
    )


def tune(
    recorded: list[Recorded], start: FusionOptions, grid: dict[str, tuple[Any, ...]]
) -> tuple[FusionOptions, list[dict[str, Any]]]:
    """Coordinate ascent over `grid` from `start`; the best options and the path taken. The options of
    one of `TOGETHER` are one coordinate (every combination of their values is tried)."""
    best, best_score = start, figures(recorded, start)["score"]
    path = [{"options": _changed(best), **figures(recorded, best)}]
    grouped = {name for names in TOGETHER for name in names}
    coordinates = [*TOGETHER, *((name,) for name in grid if name not in grouped)]
    for round_ in range(ROUNDS):
        improved = False
        for names in coordinates:
            for values in itertools.product(*(grid[name] for name in names)):
                trial = dataclasses.replace(best, **dict(zip(names, values)))
                score = figures(recorded, trial)["score"]
                if score > best_score + 1e-9:
                    best, best_score, improved = trial, score, True
            chosen = ", ".join(f"{name} {getattr(best, name)}" for name in names)
            log.info("round %d: %s (score %.4f)", round_ + 1, chosen, best_score)
        path.append({"options": _changed(best), **figures(recorded, best)})
        if not improved:
            break
    return best, path


def _changed(options: FusionOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in GRID}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voicecoach.bench.tunefusion", description=__doc__)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--out", type=Path, default=Path("build") / "fusion-tune.json")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--recording", type=Path, help="keep the recorded inputs in this file, and reuse it if it exists (a pickle)"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import pickle
    import tempfile

    if args.recording is not None and args.recording.is_file():
        recorded = pickle.loads(args.recording.read_bytes())
    else:
        with tempfile.TemporaryDirectory(prefix="voicecoach-tune-") as tmp:
            recorded = record(args.corpus.resolve(), Path(tmp), args.seed)
        if args.recording is not None:
            args.recording.parent.mkdir(parents=True, exist_ok=True)
            args.recording.write_bytes(pickle.dumps(recorded))
    # the spotter's own threshold for the words it has real recordings of (never alone on the others),
    # and a middling start for the rest
    from voicecoach.hear.spotter.model import load_model

    own = load_model()
    from voicecoach.hear.engines import FUSION_SPHINX_FALLBACK_CONFIDENCE

    grid = {
        **GRID,
        "spotter_alone": (own.threshold, *(v for v in GRID["spotter_alone"] if v > own.threshold)),
        "spotter_alone_steps": (own.persist_steps, *(v for v in GRID["spotter_alone_steps"] if v > own.persist_steps)),
        # above the cap of PocketSphinx's fallback candidates, so they stay weak ones (they need the
        # spotter's agree_weak): a command lost to a frequent word is never taken as one it heard
        "grammar_floor": tuple(v for v in GRID["grammar_floor"] if v > FUSION_SPHINX_FALLBACK_CONFIDENCE),
    }
    start = FusionOptions(
        spotter_alone=own.threshold,
        spotter_alone_steps=own.persist_steps,
        spotter_alone_untrusted=1.01,
        grammar_alone=0.9,
        grammar_floor=0.6,
        agree=0.3,
        veto=1.01,
    )
    # Coordinate ascent moves one option at a time, so it cannot reach a setting that needs two
    # changed together (weak candidates need both their floor and their support): it climbs from the
    # rule in force too, and the better end wins (the rule in force where they tie).
    climbs = [tune(recorded, TUNED["pocketsphinx"], grid), tune(recorded, start, grid)]
    best, path = max(climbs, key=lambda climb: figures(recorded, climb[0])["score"])
    result = {
        "split": "tune",
        "streams": {kind: sum(len(r.clips) for r in recorded if r.kind == kind) for kind in ("real", "echo", "noise")},
        "speech_seconds": round(sum(r.seconds for r in recorded if r.kind == "speech"), 1),
        "train_speech_seconds": round(sum(r.seconds for r in recorded if r.kind == "speech_train"), 1),
        "spotter_alone": figures(recorded, part="spotter"),
        "grammar_alone": figures(recorded, part="grammar"),
        "fusion_shipped": figures(recorded, TUNED["pocketsphinx"]),
        "fusion_start": figures(recorded, start),
        "fusion_from_shipped": {"options": _changed(climbs[0][0]), **figures(recorded, climbs[0][0])},
        "fusion_from_start": {"options": _changed(climbs[1][0]), **figures(recorded, climbs[1][0])},
        "fusion_best": {"options": _changed(best), **figures(recorded, best)},
        "path": path,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "path"}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
