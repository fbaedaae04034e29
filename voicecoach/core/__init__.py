"""The pure core: phrases, events, routine models, narration, the coach and its parts. No I/O, no clock."""
