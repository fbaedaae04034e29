#!/usr/bin/env bash
# Undoes scripts/install-pi.sh: stops and disables the voicecoach user service and removes its unit.
# Your config, your recorded sessions, the checkout, .venv and the Debian packages are kept, unless
# you ask: --purge also deletes the config, the sessions and the speech cache. Safe to run again.
#
# Usage: scripts/uninstall-pi.sh [--purge] [--no-linger] [--dry-run]
#   --purge      also delete ~/.config/voicecoach, ~/.local/share/voicecoach and ~/.cache/voicecoach
#   --no-linger  also turn lingering off (only if nothing else of yours needs to run without a login)
#   --dry-run    print what would be done, change nothing
set -euo pipefail

service="voicecoach.service"
purge=0
no_linger=0
dry_run=0
for arg in "$@"; do
    case "$arg" in
        --purge) purge=1 ;;
        --no-linger) no_linger=1 ;;
        --dry-run) dry_run=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "uninstall-pi: unknown option $arg (see --help)" >&2
            exit 2
            ;;
    esac
done

say() { echo "voicecoach uninstall: $*"; }
run() {
    if [ "$dry_run" = 1 ]; then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}
# Absolute XDG folders only (the spec says to ignore relative ones).
xdg_dir() {
    case "$1" in /*) echo "$1" ;; *) echo "$2" ;; esac
}

user="$(id -un)"
if [ "$(id -u)" -eq 0 ] && [ "$dry_run" = 0 ]; then
    echo "voicecoach uninstall: run this as the user who installed the coach, not as root." >&2
    exit 1
fi
config_home="$(xdg_dir "${XDG_CONFIG_HOME:-}" "$HOME/.config")"
data_home="$(xdg_dir "${XDG_DATA_HOME:-}" "$HOME/.local/share")"
cache_home="$(xdg_dir "${XDG_CACHE_HOME:-}" "$HOME/.cache")"
unit="$config_home/systemd/user/$service"
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="/run/user/$(id -u)"
    export XDG_RUNTIME_DIR
fi

if [ -f "$unit" ]; then
    say "stopping and disabling the service"
    run systemctl --user disable --now "$service" || true
    run rm -f "$unit"
    run systemctl --user daemon-reload || true
    run systemctl --user reset-failed "$service" 2>/dev/null || true
else
    say "the service is not installed ($unit)"
fi

if [ "$no_linger" = 1 ]; then
    say "turning lingering off for $user"
    if ! run loginctl disable-linger "$user" 2>/dev/null; then
        run sudo loginctl disable-linger "$user"
    fi
fi

if [ "$purge" = 1 ]; then
    for dir in "$config_home/voicecoach" "$data_home/voicecoach" "$cache_home/voicecoach"; do
        if [ -e "$dir" ]; then
            say "deleting $dir"
            run rm -rf -- "$dir"
        fi
    done
else
    say "kept your settings ($config_home/voicecoach) and sessions ($data_home/voicecoach); --purge deletes them"
fi
