"""The runtime installs without its tools, and says how to get them; both packages declare their data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# every command whose code lives in the tools package, with options a script passes it
TOOL_COMMANDS = [
    ["demo", "--days", "3"],
    ["bench", "--quick", "--only", "checkout"],
    ["docs"],
    ["vendor-sim", "--port", "8090"],
    ["pms", "bench", "--quick"],
]


def _without_tools(args: list[str]) -> subprocess.CompletedProcess:
    """``hotelcore ARGS`` in a Python where the tools package cannot be imported."""
    code = (
        "import sys; sys.modules['hotelcore_tools'] = None; "
        "from pyapi.cli import app; sys.argv = ['hotelcore', *sys.argv[1:]]; app()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


@pytest.mark.parametrize("args", TOOL_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_tool_command_without_the_tools_says_how_to_install_them(args):
    run = _without_tools(args)
    assert run.returncode == 1, run.stdout + run.stderr
    message = " ".join(run.stderr.split())
    assert "tools, which are not installed" in message
    assert "pip install 'hotelcore[tools]'" in message
    assert "Traceback" not in run.stderr


def test_the_runtime_commands_work_without_the_tools():
    run = _without_tools(["--help"])
    assert run.returncode == 0, run.stderr
    for command in ("serve", "migrate", "dispatch", "apikey", "pms", "bench", "demo", "vendor-sim"):
        assert command in run.stdout


def test_the_runtime_imports_no_tool():
    """The runtime's modules load without the tools package and without Faker or Jinja."""
    code = (
        "import sys\n"
        "for name in ('hotelcore_tools', 'faker', 'jinja2', 'yaml', 'openapi_schema_validator'):\n"
        "    sys.modules[name] = None\n"
        "import pkgutil, importlib, pyapi\n"
        "for m in pkgutil.walk_packages(pyapi.__path__, 'pyapi.'):\n"
        "    importlib.import_module(m.name)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr


def test_wheels_declare_their_packages_and_data(tmp_path):
    """Building both wheels warns of no undeclared package; the runtime's wheel holds no tool and
    requires neither Faker nor Jinja; the tools' wheel carries its template and the vendor's spec."""
    # built from a copy, so that no build folder is left in the checkout
    src, wheels = tmp_path / "src", tmp_path / "wheels"
    junk = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    for folder in ("pyapi", "tools"):
        shutil.copytree(ROOT / folder, src / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(wheels), ".", "./tools"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=src,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    log = run.stdout + run.stderr
    assert "is absent from the `packages` configuration" not in log
    assert "would be ignored" not in log
    (runtime,) = wheels.glob("hotelcore-*.whl")
    (tools,) = wheels.glob("hotelcore_tools-*.whl")
    with zipfile.ZipFile(runtime) as wheel:
        names = wheel.namelist()
        metadata = next(wheel.read(n).decode() for n in names if n.endswith("METADATA"))
    assert not [n for n in names if n.startswith("hotelcore_tools/")]
    assert "pyapi/checkout/saga.py" in names and "pyapi/http/app.py" in names
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for tool_only in ("faker", "jinja2", "pyyaml", "openapi-schema-validator"):
        assert not [r for r in requires if r.lower().startswith(f"requires-dist: {tool_only}")], requires
    assert any("hotelcore-tools" in r and 'extra == "tools"' in r for r in requires), requires
    with zipfile.ZipFile(tools) as wheel:
        names = wheel.namelist()
    assert "hotelcore_tools/demo/templates/demo_report.html.j2" in names
    assert "hotelcore_tools/vendor_sim/cloudbeds-pms-v1.3-openapi.yaml" in names
