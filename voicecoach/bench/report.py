"""Turning the workers' per-clip outcomes into figures: the JSON, the Markdown table and the SNR plot."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from voicecoach.bench.measure import fraction, percentile

log = logging.getLogger(__name__)


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One system's task results as one: outcome lists joined, noise tables and speech hits combined."""
    merged: dict[str, Any] = {"cpu_seconds": 0.0, "audio_seconds": 0.0, "peak_rss_mb": 0.0}
    for result in results:
        merged["recogniser"] = result["recogniser"]
        merged["cpu_seconds"] += result["cpu_seconds"]
        merged["audio_seconds"] += result["audio_seconds"]
        if "memory" in result:
            merged["hearing_rss_mb"] = result["memory"]["peak_rss_mb"]
        else:
            merged["peak_rss_mb"] = max(merged["peak_rss_mb"], result["peak_rss_mb"])
        for kind in ("real", "synthetic", "false_accept"):
            merged.setdefault(kind, []).extend(result.get(kind, []))
        for name, by_snr in result.get("noise", {}).items():
            merged.setdefault("noise", {}).setdefault(name, {}).update(by_snr)
        if "speech" in result:
            speech = merged.setdefault("speech", {"seconds": 0.0, "hits": []})
            speech["seconds"] += result["speech"]["seconds"]
            speech["hits"] += result["speech"]["hits"]
        if "self" in result:
            merged["self"] = result["self"]
    return merged


def parts_figures(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The figures of each engine inside a fused recogniser, alone, from the "parts" of its results."""
    names = sorted({name for result in results for name in result.get("parts", {})})
    figures = {}
    for name in names:
        alone = [
            {
                **result["parts"][name],
                "recogniser": name,
                "audio_seconds": result["parts"][name].get("audio_seconds", 0.0),
                "cpu_seconds": result["parts"][name].get("cpu_seconds", 0.0),
                "peak_rss_mb": 0.0,
            }
            for result in results
            if name in result.get("parts", {})
        ]
        figures[name] = {
            **figures_of(merge(alone)),
            "peak_rss_mb": None,
            "peak_rss_mb_with_bench_buffers": None,
            "self_triggers": None,
            "self_triggers_unguarded": None,
        }
    return figures


def _by_label(outcomes: list[dict[str, Any]], key=lambda label: label) -> dict[str, float | None]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for o in outcomes:
        groups[key(o["label"])].append(o["accepted"])
    return {label: fraction(flags) for label, flags in sorted(groups.items())}


def figures(system: str, merged: dict[str, Any]) -> dict[str, Any]:
    """The figures of one system, as they go into the JSON."""
    out = figures_of(merged)
    out.update(_self_triggers(system, merged.get("self", {})))
    return out


def figures_of(merged: dict[str, Any]) -> dict[str, Any]:
    """The figures of one system's clips, noises, speech and cost (no self-triggers)."""
    real, synthetic = merged.get("real", []), merged.get("synthetic", [])
    distractors = merged.get("false_accept", [])
    noise = {
        name: {
            snr: fraction([o["accepted"] for o in outs])
            for snr, outs in sorted(by_snr.items(), key=lambda kv: -float(kv[0]))
        }
        for name, by_snr in sorted(merged.get("noise", {}).items())
    }
    at_10 = [v for by_snr in noise.values() for snr, v in by_snr.items() if float(snr) == 10 and v is not None]
    latencies = [o["latency_ms"] for o in real + synthetic if o["latency_ms"] is not None]
    speech = merged.get("speech", {"seconds": 0.0, "hits": []})
    out: dict[str, Any] = {
        "recogniser": merged.get("recogniser"),
        "accept_real": _by_label(real),
        "accept_real_mean": fraction([o["accepted"] for o in real]),
        "accept_synthetic": _by_label(synthetic, key=lambda label: label.split("|")[0]),
        "accept_synthetic_by_voice": _by_label(synthetic, key=lambda label: label.split("|")[1]),
        "accept_synthetic_mean": fraction([o["accepted"] for o in synthetic]),
        "accept_noise": noise,
        "accept_10db_mean": round(sum(at_10) / len(at_10), 4) if at_10 else None,
        "false_accept_words": fraction([bool(o["heard"]) for o in distractors]),
        "false_accepts": [
            {"word": o["label"], "heard": o["heard"], "file": o["path"]} for o in distractors if o["heard"]
        ],
        "false_activations_per_hour": round(len(speech["hits"]) / (speech["seconds"] / 3600), 2)
        if speech["seconds"]
        else None,
        "false_activations": speech["hits"],
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "rtf": round(merged["cpu_seconds"] / merged["audio_seconds"], 4) if merged["audio_seconds"] else None,
        "peak_rss_mb": round(merged.get("hearing_rss_mb", merged["peak_rss_mb"]), 1),
        "peak_rss_mb_with_bench_buffers": round(merged["peak_rss_mb"], 1),
        "cpu_seconds": round(merged["cpu_seconds"], 1),
        "audio_seconds": round(merged["audio_seconds"], 1),
        "latency_clips": len(latencies),
    }
    return out


def _self_triggers(system: str, self_: dict[str, Any]) -> dict[str, Any]:
    """The coach: echo canceller (if available) and the EchoGuard; the naive peer has neither, so its
    headline figure is unguarded and what our guard would have let through is given beside it."""
    if not self_:
        return {"self_triggers": None, "self_triggers_unguarded": None}
    plain = self_["without_canceller"]
    through = lambda events: sum(1 for e in events if e["ignored_because"] is None)  # noqa: E731
    if system == "coach":
        cancelled = self_.get("with_canceller", plain)
        return {
            "self_triggers": through(cancelled),
            "self_triggers_unguarded": len(cancelled),
            "self_triggers_no_canceller": through(plain),
            "self_triggers_no_canceller_unguarded": len(plain),
            "echo_canceller": self_.get("canceller", "none"),
            "self_trigger_events": cancelled,
        }
    return {
        "self_triggers": len(plain),
        "self_triggers_unguarded": len(plain),
        "self_triggers_if_guarded": through(plain),
        "self_trigger_events": plain,
    }


ROWS = (
    ("accept_real_mean", "Acceptance, real recordings (all clips)", "pct"),
    ("accept_synthetic_mean", "Acceptance, synthetic voices never trained on (flite, espeak-ng; every phrase)", "pct"),
    ("accept_10db_mean", "Acceptance at 10 dB SNR (mean over noises, real clips)", "pct"),
    ("false_accept_words", "False accepts, non-command words", "pct"),
    ("false_activations_per_hour", "False activations per hour, continuous read speech", "num"),
    ("self_triggers", "Self-triggers, whole daily routine (as deployed)", "num"),
    ("self_triggers_unguarded", "Self-triggers without the barge-in guard", "num"),
    ("latency_ms_p50", "Latency p50, ms after speech ends", "num"),
    ("latency_ms_p95", "Latency p95, ms", "num"),
    ("rtf", "CPU real-time factor (one core)", "num"),
    ("peak_rss_mb", "Peak RSS, MB (a process that only hears)", "num"),
)


def _cell(value: Any, style: str) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}%" if style == "pct" else f"{value:g}"


def table(report: dict[str, Any]) -> str:
    """The Markdown table: the coach, each engine inside it when it is fused (alone, same run), the peer."""
    coach = report["coach"]
    columns = [(f"coach ({coach.get('recogniser')})", coach)]
    # what each engine inside would have acted on by itself: run as fusion runs it (a grammar engine
    # looser, its phrases of several words kept within a margin), judged at its own threshold
    columns += [(f"{name} alone, as fused", figures) for name, figures in report.get("parts", {}).items()]
    if "peer" in report:
        columns.append(("peer", report["peer"]))
    lines = ["| figure | " + " | ".join(name for name, _ in columns) + " |", "|---|" + "---:|" * len(columns)]
    for key, label, style in ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(c.get(key), style) for _, c in columns) + " |")
    for word in sorted({w for _, c in columns for w in c["accept_real"]}):
        n = report["counts"]["accept_real"].get(word, 0)
        cells = " | ".join(_cell(c["accept_real"].get(word), "pct") for _, c in columns)
        lines.append(f"| real “{word}” ({n}) | {cells} |")
    for snr in report["snrs_db"]:
        cells = " | ".join(_cell(_snr_mean(c["accept_noise"], snr), "pct") for _, c in columns)
        lines.append(f"| noise {snr:g} dB SNR (mean of {len(coach['accept_noise'])}) | {cells} |")
    return "\n".join(lines)


def _snr_mean(noise: dict[str, dict[str, float | None]], snr: float) -> float | None:
    values = [v for by_snr in noise.values() for s, v in by_snr.items() if float(s) == snr and v is not None]
    return sum(values) / len(values) if values else None


def plot(report: dict[str, Any], path: Path) -> None:
    """Acceptance against SNR: the mean over noises bold, each noise faint, clean speech at the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snrs = sorted(report["snrs_db"])
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for system, colour in (("coach", "tab:blue"), ("peer", "tab:orange")):
        if system not in report:
            continue
        noise = report[system]["accept_noise"]
        for by_snr in noise.values():
            values = [by_snr.get(f"{s:g}") for s in snrs]
            axes.plot(snrs, [v if v is not None else float("nan") for v in values], color=colour, alpha=0.25, lw=1)
        means = [_snr_mean(noise, s) for s in snrs]
        axes.plot(
            snrs,
            [m if m is not None else float("nan") for m in means],
            color=colour,
            lw=2.5,
            marker="o",
            label=f"{system} ({report[system]['recogniser']})",
        )
        clean = report[system]["accept_real_mean"]
        if clean is not None:
            axes.plot([max(snrs) + 5], [clean], color=colour, marker="*", markersize=12)
    axes.set_xticks([*snrs, max(snrs) + 5], [*(f"{s:g}" for s in snrs), "clean"])
    axes.set_xlabel("SNR, dB (speech part of each clip)")
    axes.set_ylabel("commands accepted")
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.set_title("Real command recordings under noise (faint lines: each noise)")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
