"""`python -m voicecoach.bench`."""

import sys

from voicecoach.bench import main

sys.exit(main(sys.argv[1:]))
