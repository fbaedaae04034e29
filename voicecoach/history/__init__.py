"""The history: sessions and exercise results in a crash-safe SQLite file in the user's data directory."""
