"""One decision from two engines: the trained spotter and the grammar recogniser (Vosk, or
PocketSphinx when no Vosk model is installed) hear the same stream, and a command is acted on when
their evidence together is strong. `decide.py` is the rule, `engine.py` the recogniser around it."""
