"""voicecoach: an offline, hands-free coach for floor exercises that ease lower back pain."""

__version__ = "0.1.0"
