#!/usr/bin/env bash
# Sets everything up for testing (see setup.sh), then runs the test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
