"""The trained command spotter: a frozen speech embedding every 80 ms and a small head on the last
16 (about 2 s) that names the intent just said, or none. See docs/spotter-card.md."""
