"""The command line: one clear line and exit 1 when the server is unreachable; --help everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

HC = [sys.executable, "-m", "pyapi.cli"]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, **env}
    return subprocess.run(HC + args, capture_output=True, text=True, env=full_env, timeout=60)


def test_unreachable_database_url_gives_one_line_and_exit_1():
    res = run(["db", "status"], DATABASE_URL="postgresql://nobody@127.0.0.1:1/nowhere")
    assert res.returncode == 1
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert "127.0.0.1:1" in lines[0]
    assert "Traceback" not in res.stderr + res.stdout


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["db"],
        ["db", "start"],
        ["db", "stop"],
        ["db", "status"],
        ["db", "url"],
        ["migrate"],
        ["psql"],
        ["migrations", "new"],
        ["migrations", "check"],
        ["migrations", "downgrade"],
        ["demo"],
        ["bench"],
        ["serve"],
        ["docs"],
        ["apikey"],
        ["apikey", "create"],
        ["apikey", "rotate"],
        ["apikey", "revoke"],
        ["apikey", "list"],
        ["migrations", "current"],
        ["pms"],
        ["pms", "import"],
        ["pms", "status"],
        ["pms", "sync"],
        ["pms", "bench"],
        ["pms", "rotate-keys"],
        ["vendor-sim"],
    ],
)
def test_every_command_has_help(command: list[str]):
    res = run([*command, "--help"])
    assert res.returncode == 0, res.stderr
    assert "Usage" in res.stdout


def test_migrations_check_passes_on_the_committed_tree():
    res = run(["migrations", "check"])
    assert res.returncode == 0, res.stderr
