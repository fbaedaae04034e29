"""The applications: the `voicecoach` command line, `serve` (the appliance), settings, `history`, `mic-test`."""
