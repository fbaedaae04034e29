#!/usr/bin/env bash
# Installs everything voicecoach needs on Debian or Raspberry Pi OS: the Debian packages, a virtual
# environment in .venv, and the project itself. Safe to run again; it only does what is missing.
# Usage: scripts/setup.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

debs=(python3-venv python3-dev espeak-ng libespeak-ng1 libportaudio2 libspeexdsp1 libasound2-plugins pulseaudio-utils)
# The test suite starts its own PulseAudio server with virtual devices and speaks with flite and sox;
# it opens the `history --html` page in a headless Chromium and checks the Pi scripts with shellcheck.
[ "$want_test" = 1 ] && debs+=(pulseaudio flite sox chromium shellcheck)

missing=()
for deb in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "ok installed" || missing+=("$deb")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "voicecoach setup: installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "voicecoach setup: creating .venv"
    python3 -m venv .venv
fi
extras="audio"
[ "$want_test" = 1 ] && extras="audio,test"
stamp=".venv/.voicecoach-installed-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "voicecoach setup: installing Python packages ($extras)"
    # pip's build back-end is chatty even with -q: keep its output, show it only if it fails.
    if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".[$extras]"; } \
        >.venv/pip.log 2>&1; then
        cat .venv/pip.log >&2
        echo "voicecoach setup: installing Python packages failed (log above)." >&2
        exit 1
    fi
    touch "$stamp"
fi
