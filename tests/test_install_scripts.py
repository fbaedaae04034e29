"""The Raspberry Pi installer: valid shell, a unit that restarts safely, and a dry run that touches nothing."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALL = REPO / "scripts" / "install-pi.sh"
UNINSTALL = REPO / "scripts" / "uninstall-pi.sh"
TEMPLATE = REPO / "scripts" / "voicecoach.service"
# Commands a dry run must never call; the fakes record a call, and fail it.
GUARDED = ("systemctl", "loginctl", "sudo", "apt-get", "dpkg-query", "pip")


def parse_unit(text: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True, comment_prefixes=("#",))
    unit.optionxform = str  # systemd's keys are case-sensitive
    unit.read_string(text)
    return unit


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, str]:
    """An environment with a private home and fakes for every command that could change the system."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in GUARDED:
        fake = bin_dir / name
        fake.write_text(f'#!/bin/sh\necho "{name} $*" >>"{tmp_path}/called"\nexit 1\n')
        fake.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XDG_", "VOICECOACH_"))}
    env.update(
        HOME=str(home), PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", XDG_CONFIG_HOME=str(home / ".config")
    )
    return env


def run(script: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=30)


@pytest.mark.parametrize("script", [INSTALL, UNINSTALL], ids=lambda path: path.name)
def test_the_scripts_are_valid_bash(script: Path):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.access(script, os.X_OK)


def test_the_scripts_are_shellcheck_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    result = subprocess.run(["shellcheck", str(INSTALL), str(UNINSTALL)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_unit_template_restarts_on_failure_but_not_forever():
    unit = parse_unit(TEMPLATE.read_text())
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartSec"] == "5"
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > 0
    assert service["ExecStart"] == '"@CHECKOUT@/.venv/bin/voicecoach" serve'
    assert service["WorkingDirectory"] == "@CHECKOUT@"
    limits = unit["Unit"]  # start limits belong in [Unit] since systemd 230
    assert int(limits["StartLimitBurst"]) > 0 and int(limits["StartLimitIntervalSec"]) > 0
    assert unit["Install"]["WantedBy"] == "default.target"  # the user manager's boot target


def test_print_unit_fills_in_this_checkout_and_installs_nothing(sandbox: dict[str, str], tmp_path: Path):
    result = run(INSTALL, "--print-unit", env=sandbox)
    assert result.returncode == 0, result.stderr
    assert "@CHECKOUT@" not in result.stdout
    unit = parse_unit(result.stdout)
    assert unit["Service"]["ExecStart"] == f'"{REPO}/.venv/bin/voicecoach" serve'
    assert unit["Service"]["WorkingDirectory"] == str(REPO)
    assert result.stdout == TEMPLATE.read_text().replace("@CHECKOUT@", str(REPO))
    assert not (tmp_path / "called").exists()
    assert list((tmp_path / "home").iterdir()) == []


def test_a_checkout_path_systemd_would_misread_is_refused(tmp_path: Path, sandbox: dict[str, str]):
    scripts = tmp_path / "my checkout" / "scripts"
    scripts.mkdir(parents=True)
    for source in (INSTALL, TEMPLATE):
        shutil.copy(source, scripts / source.name)
    result = run(scripts / INSTALL.name, "--print-unit", env=sandbox)
    assert result.returncode == 1
    assert "has a space or one of" in result.stderr


def test_dry_run_shows_every_step_and_changes_nothing(sandbox: dict[str, str], tmp_path: Path):
    result = run(INSTALL, "--dry-run", "--with-vosk", env=sandbox)
    assert result.returncode == 0, result.stderr
    home = tmp_path / "home"
    planned = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert planned == [
        f"+ {REPO}/scripts/setup.sh",
        f"+ {REPO}/.venv/bin/voicecoach download-model",
        f"+ mkdir -p {home}/.config/voicecoach",
        f"+ cp {REPO}/config.example.yaml {home}/.config/voicecoach/config.yaml",
        f"+ mkdir -p {home}/.config/systemd/user",
        "+ (write the unit above: scripts/install-pi.sh --print-unit)",
        f"+ loginctl enable-linger {subprocess.check_output(['id', '-un'], text=True).strip()}",
        "+ systemctl --user daemon-reload",
        "+ systemctl --user reset-failed voicecoach.service",
        "+ systemctl --user enable voicecoach.service",
        "+ systemctl --user restart voicecoach.service",
    ]
    assert not (tmp_path / "called").exists()
    assert list(home.iterdir()) == []


def test_a_second_run_keeps_the_config_and_the_unit(sandbox: dict[str, str], tmp_path: Path):
    config_home = tmp_path / "home" / ".config"
    (config_home / "voicecoach").mkdir(parents=True)
    (config_home / "voicecoach" / "config.yaml").write_text("volume: 0.5\n")
    (config_home / "systemd" / "user").mkdir(parents=True)
    unit = config_home / "systemd" / "user" / "voicecoach.service"
    unit.write_text(run(INSTALL, "--print-unit", env=sandbox).stdout)
    result = run(INSTALL, "--dry-run", "--no-start", env=sandbox)
    assert result.returncode == 0, result.stderr
    assert "keeping the config file" in result.stdout
    assert "the service unit is up to date" in result.stdout
    assert "+ cp " not in result.stdout and "+ systemctl --user restart" not in result.stdout
    assert "+ systemctl --user enable voicecoach.service" in result.stdout
    assert (config_home / "voicecoach" / "config.yaml").read_text() == "volume: 0.5\n"
    assert not (tmp_path / "called").exists()


def test_uninstall_dry_run(sandbox: dict[str, str], tmp_path: Path):
    config_home = tmp_path / "home" / ".config"
    unit = config_home / "systemd" / "user" / "voicecoach.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Unit]\n")
    (config_home / "voicecoach").mkdir()
    result = run(UNINSTALL, "--dry-run", "--purge", env=sandbox)
    assert result.returncode == 0, result.stderr
    planned = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert planned == [
        "+ systemctl --user disable --now voicecoach.service",
        f"+ rm -f {unit}",
        "+ systemctl --user daemon-reload",
        "+ systemctl --user reset-failed voicecoach.service",
        f"+ rm -rf -- {config_home}/voicecoach",
    ]
    assert unit.exists()
    assert not (tmp_path / "called").exists()


@pytest.mark.parametrize("script", [INSTALL, UNINSTALL], ids=lambda path: path.name)
def test_an_unknown_option_is_refused(script: Path, sandbox: dict[str, str]):
    result = run(script, "--bogus", env=sandbox)
    assert result.returncode == 2
    assert "unknown option --bogus" in result.stderr
