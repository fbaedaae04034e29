"""The session wiring: clocks and the loop, the listener and spoken output, device threads, simulation."""
