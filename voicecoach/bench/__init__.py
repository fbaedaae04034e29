"""The hearing benchmark: the coach's recogniser against a naive PocketSphinx peer, on the shared corpus."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """`voicecoach bench` (see voicecoach.bench.cli)."""
    from voicecoach.bench.cli import main as run

    return run(argv)
