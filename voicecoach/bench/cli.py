"""`voicecoach bench`: the coach's hearing and a naive peer's, measured side by side on the corpus."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from voicecoach.bench import plan as planning
from voicecoach.bench import report
from voicecoach.bench.corpus import DEFAULT_CORPUS, Corpus
from voicecoach.bench.enrolled import add_arguments as add_enrolled_arguments
from voicecoach.bench.heldout import SPLITS, SplitCorpus
from voicecoach.bench.tasks import SYSTEMS, Task, execute
from voicecoach.errors import VoicecoachError

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voicecoach bench", description=__doc__)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the corpus folder (default: %(default)s)")
    p.add_argument(
        "--engine",
        default="auto",
        help="the coach's engine: auto, vosk, pocketsphinx, spotter or fusion (auto and fusion also report the spotter "
        "and the grammar recogniser alone, from the same run)",
    )
    p.add_argument(
        "--held-out", action="store_true", help="only the corpus speakers the spotter was neither trained nor tuned on"
    )
    p.add_argument(
        "--split",
        choices=SPLITS,
        help="only the corpus speakers of this part of the spotter's split (test is --held-out; tune is where "
        "thresholds may be tuned); with --enrolled, which speakers enrol (test, the default, or tune)",
    )
    p.add_argument("--model", default="", help="a Vosk model folder for the coach")
    p.add_argument("--no-peer", action="store_true", help="measure the coach only, not the naive peer (faster)")
    p.add_argument("--out", type=Path, default=Path("results.json"), help="the JSON results")
    p.add_argument("--plot", type=Path, default=Path("results.png"), help="the acceptance-against-SNR plot")
    p.add_argument("--quick", action="store_true", help="a small subset, for a run of seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers at once (default: the cores)")
    p.add_argument("--debug", action="store_true")
    add_enrolled_arguments(p)
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # a task file: run it, write its result
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, internally, one worker task); print the table; 0 on success."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING if args.worker else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.worker:
        args.result.write_text(json.dumps(execute(Task.load(args.worker))))
        return 0
    try:
        if args.enrolled:
            from voicecoach.bench import enrolled

            print(enrolled.table(enrolled.run(args)))
            return 0
        print(report.table(bench(args)))
    except VoicecoachError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Plan, run every task in its own subprocess (`--jobs` at once), merge, write JSON and plot."""
    started = time.monotonic()
    sizes = planning.QUICK if args.quick else planning.FULL
    with tempfile.TemporaryDirectory(prefix="voicecoach-bench-") as tmp:
        workdir = Path(tmp)
        split = "test" if args.held_out else args.split
        corpus = SplitCorpus(args.corpus.resolve(), split) if split else Corpus(args.corpus.resolve())
        plan = planning.make_plan(corpus, sizes, args.seed, workdir)
        systems = ("coach",) if args.no_peer else SYSTEMS
        todo = [
            (system, task)
            for system in systems
            for task in planning.tasks(plan, system, args.seed, args.engine, args.model, split=not args.quick)
        ]
        results = _run_all(todo, workdir, args.jobs)
        counts = _counts(plan, results)
    figures = {system: report.figures(system, report.merge(results[system])) for system in systems}
    parts = report.parts_figures(results["coach"])
    result = {
        "engine": args.engine,
        "corpus": str(args.corpus),
        "seed": args.seed,
        "quick": args.quick,
        "held_out": args.held_out or args.split == "test",
        "split": "test" if args.held_out else args.split,
        "snrs_db": list(sizes.snrs_db),
        "voice_level_dbfs": round(plan.voice_dbfs, 1),
        "counts": counts,
        **figures,
        "parts": parts,
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "notes": {
            "real": "accept_real: human recordings from the corpus; accept_synthetic: flite and espeak-ng voices",
            "acceptance": "a clip is accepted when its intent is heard with times overlapping the clip, streamed in 20-64 ms chunks",
            "noise": "real clips, same subset at every SNR; SNR over the speech part of each clip",
            "self_triggers": "coach: echo canceller (when available) and EchoGuard; peer: neither, as naive projects run",
            "latency": "from the energy end of speech to the chunk whose feed() returned the command; clean real and synthetic clips",
            "parts": "a fused coach engine: what each engine inside it would have acted on alone, scored from the "
            "same run (no self-triggers nor memory of their own; rtf is each engine's share of the fused CPU)",
            "peak_rss_mb": "a worker that only opens the recogniser and streams real clips one by one through it; "
            "peak_rss_mb_with_bench_buffers: the largest other worker, which also holds whole test streams",
        },
    }
    args.out.write_text(json.dumps(result, indent=1))
    report.plot(result, args.plot)
    log.info("wrote %s and %s in %.0f s", args.out, args.plot, result["elapsed_seconds"])
    return result


def _run_all(todo: list[tuple[str, Task]], workdir: Path, jobs: int) -> dict[str, list[dict[str, Any]]]:
    """Every task in a fresh `python -m voicecoach.bench --worker` subprocess, up to `jobs` at a time."""
    results: dict[str, list[dict[str, Any]]] = {system: [] for system in SYSTEMS}
    waiting = list(enumerate(todo))
    running: list[tuple[subprocess.Popen, str, Path, Path]] = []
    while waiting or running:
        while waiting and len(running) < max(1, jobs):
            n, (system, task) = waiting.pop(0)
            spec, out = workdir / f"task{n}.json", workdir / f"result{n}.json"
            task.save(spec)
            command = [sys.executable, "-m", "voicecoach.bench", "--worker", str(spec), "--result", str(out)]
            log.info("task %d: %s %s", n, system, "+".join(task.kinds))
            running.append((subprocess.Popen(command, stderr=subprocess.PIPE, text=True), system, out, spec))
        time.sleep(0.2)
        for item in [r for r in running if r[0].poll() is not None]:
            process, system, out, spec = item
            running.remove(item)
            errors = process.stderr.read() if process.stderr else ""
            if process.returncode != 0:
                for other in running:
                    other[0].kill()
                raise VoicecoachError(f"a {system} worker failed ({spec.name}): {errors.strip().splitlines()[-1:]}")
            results[system].append(json.loads(out.read_text()))
    return results


def _counts(plan: planning.Plan, results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    real: dict[str, int] = {}
    for clip in plan.real:
        real[clip.label] = real.get(clip.label, 0) + 1
    narration = json.loads(plan.narration[1].read_text()) if plan.narration[1].is_file() else []
    return {
        "accept_real": real,
        "accept_real_clips": len(plan.real),
        "accept_synthetic_clips": len(plan.synthetic),
        "synthetic_phrases": len({c.label.split("|")[0] for c in plan.synthetic}),
        "synthetic_voices": len({c.label.split("|")[1] for c in plan.synthetic}),
        "accept_noise_clips_per_condition": len(plan.noise_clips),
        "noises": sorted(plan.noises),
        "false_accept_words": len(plan.distractors),
        "speech_files": len(plan.speech),
        "speech_seconds": round(sum(r.get("speech", {}).get("seconds", 0.0) for r in results["coach"]), 1),
        "narration_sentences": len(narration),
        "narration_seconds": round(max((s["end"] for s in narration), default=0.0), 1),
    }
