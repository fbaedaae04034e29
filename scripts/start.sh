#!/usr/bin/env bash
# Sets everything up (see setup.sh), then starts the coach. Arguments go to `voicecoach run`.
# With no microphone or speaker (a server, a fresh VM) it coaches in the terminal instead (--text).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [[ " $* " != *" --text "* ]] && ! .venv/bin/voicecoach devices >/dev/null 2>&1; then
    echo "voicecoach: no microphone or speaker found, so the coach runs in this terminal (--text)."
    exec .venv/bin/voicecoach run --text "$@"
fi
exec .venv/bin/voicecoach run "$@"
