"""The one exception root: every error a user can meet is a VoicecoachError with one sentence."""


class VoicecoachError(Exception):
    """A problem the user can act on; str(error) is one sentence, fit to print or to say aloud."""


class RoutineError(VoicecoachError):
    """exercises.yaml is missing, unreadable or invalid."""


class ModelError(VoicecoachError):
    """A speech model is missing or unusable."""


class AudioError(VoicecoachError):
    """An audio device is missing, busy or has gone away."""


class ConfigError(VoicecoachError):
    """The settings file (config.yaml) is unreadable or invalid."""
