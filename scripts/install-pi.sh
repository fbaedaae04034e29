#!/usr/bin/env bash
# Turns a Raspberry Pi OS (64-bit, Bookworm) or Debian machine into a voicecoach appliance: the
# packages and .venv (scripts/setup.sh), optionally the Vosk model, a config file if there is none,
# and a systemd user service that starts at boot (no login needed) and waits for "start".
# Run it as the user who will use the coach (not root). It uses sudo for apt (in setup.sh), and for
# `loginctl enable-linger` only if loginctl refuses to do it without.
# Safe to run again: it only does what is missing, and restarts the service so changes take effect.
#
# Usage: scripts/install-pi.sh [--with-vosk] [--no-start] [--dry-run] [--print-unit]
#   --with-vosk   also fetch the small English Vosk model (about 40 MB) into models/
#   --no-start    install and enable the service, but do not (re)start it now
#   --dry-run     print what would be done, change nothing
#   --print-unit  print the service unit this checkout would install, and stop
set -euo pipefail

checkout="$(cd "$(dirname "$0")/.." && pwd)"
template="$checkout/scripts/voicecoach.service"
service="voicecoach.service"

with_vosk=0
start=1
dry_run=0
print_unit=0
for arg in "$@"; do
    case "$arg" in
        --with-vosk) with_vosk=1 ;;
        --no-start) start=0 ;;
        --dry-run) dry_run=1 ;;
        --print-unit) print_unit=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "install-pi: unknown option $arg (see --help)" >&2
            exit 2
            ;;
    esac
done

say() { echo "voicecoach install: $*"; }
die() {
    echo "voicecoach install: $*" >&2
    exit 1
}
# Runs a command, or with --dry-run only shows it.
run() {
    if [ "$dry_run" = 1 ]; then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

render_unit() {
    # systemd would read %, $, quotes and backslashes in the path as its own syntax.
    case "$checkout" in
        *[[:space:]%\$\"\'\\]*) die "the checkout's path ($checkout) has a space or one of % \$ \" ' \\ in it; move it, e.g. to ~/voicecoach." ;;
    esac
    local unit
    unit="$(<"$template")"
    printf '%s\n' "${unit//@CHECKOUT@/$checkout}"
}

if [ "$print_unit" = 1 ]; then
    render_unit
    exit 0
fi

user="$(id -un)"
if [ "$(id -u)" -eq 0 ] && [ "$dry_run" = 0 ]; then
    die "run this as the user who will use the coach, not as root (it asks for sudo when it needs it)."
fi
command -v systemctl >/dev/null || die "this system has no systemd (systemctl), which the service needs."

config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
case "$config_home" in /*) ;; *) config_home="$HOME/.config" ;; esac
config="$config_home/voicecoach/config.yaml"
unit_dir="$config_home/systemd/user"

# 1. Debian packages, .venv and the project.
say "installing the packages and the project (scripts/setup.sh)"
run "$checkout/scripts/setup.sh"

# 2. The Vosk model (optional: PocketSphinx, which needs no download, is used without it).
if [ "$with_vosk" = 1 ]; then
    say "installing the Vosk speech model"
    run "$checkout/.venv/bin/voicecoach" download-model
fi

# 3. A config file to edit, if there is none yet (its values are the defaults).
if [ -e "$config" ]; then
    say "keeping the config file $config"
    if [ "$dry_run" = 0 ] && ! "$checkout/.venv/bin/voicecoach" config check; then
        say "warning: the config file has a problem (above); the coach will say so and use the defaults for it."
    fi
else
    say "writing a config file to edit: $config"
    run mkdir -p "$(dirname "$config")"
    run cp "$checkout/config.example.yaml" "$config"
fi

# 4. The service unit, rewritten only when it changed.
unit_text="$(render_unit)"
if [ -f "$unit_dir/$service" ] && [ "$(<"$unit_dir/$service")" = "$unit_text" ]; then
    say "the service unit is up to date: $unit_dir/$service"
else
    say "installing the service unit: $unit_dir/$service"
    run mkdir -p "$unit_dir"
    if [ "$dry_run" = 1 ]; then
        echo "+ (write the unit above: scripts/install-pi.sh --print-unit)"
    else
        printf '%s\n' "$unit_text" >"$unit_dir/$service"
    fi
fi

# 5. Lingering: the user's services start at boot, without anyone logging in.
if [ "$dry_run" = 0 ] && [ "$(loginctl show-user "$user" --property=Linger --value 2>/dev/null)" = "yes" ]; then
    say "lingering is already on for $user"
else
    say "turning on lingering for $user (services start at boot without a login)"
    if ! run loginctl enable-linger "$user" 2>/dev/null; then
        run sudo loginctl enable-linger "$user"
    fi
fi
# Reached over sudo or su, there may be no session: talk to the user manager lingering started.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="/run/user/$(id -u)"
    export XDG_RUNTIME_DIR
fi

# 6. Enable (start at boot) and (re)start it now.
run systemctl --user daemon-reload
run systemctl --user reset-failed "$service" 2>/dev/null || true
run systemctl --user enable "$service"
if [ "$start" = 1 ]; then
    run systemctl --user restart "$service"
    [ "$dry_run" = 1 ] || say "the coach is running; say \"start\" to begin. Logs: journalctl --user -u voicecoach -f"
else
    say "the coach will start at the next boot, or now with: systemctl --user start voicecoach"
fi

# Without a sound server, the coach opens the sound card directly: that needs the audio group.
if ! id -nG "$user" | tr ' ' '\n' | grep -qx audio; then
    say "warning: $user is not in the audio group, so at boot the coach may not reach the microphone or speaker;"
    say "         run: sudo usermod -aG audio $user   and then reboot."
fi
