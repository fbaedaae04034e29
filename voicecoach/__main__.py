"""`python -m voicecoach`: the same as the `voicecoach` command."""

import sys

from voicecoach.apps.cli import main

sys.exit(main())
