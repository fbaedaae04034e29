#!/usr/bin/env bash
# Sets everything up (see setup.sh), then starts the coach. Arguments go to `voicecoach run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/voicecoach run "$@"
