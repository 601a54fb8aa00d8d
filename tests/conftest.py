"""Shared fixtures: a database path, and the command line run in this process or as a real one."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner


@pytest.fixture(autouse=True)
def _no_real_default_database(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's own database: the default database
    lives in a fresh data directory, and CARTUI_DB is unset."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    monkeypatch.delenv("CARTUI_DB", raising=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """The default demo history (about 300 carts, 2,535 events), written once per
    module: for tests that only read it. (tests/tui has its own, one per test.)"""
    from cartui.demo import write_demo
    from cartui.resources import load_catalog
    from cartui.store import EventStore

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with EventStore(path) as store:
        write_demo(store, load_catalog())
    return path


@pytest.fixture
def tmp_db(tmp_path) -> Path:
    """A database path in a fresh directory (the file does not exist yet)."""
    return tmp_path / "cartui.db"


@dataclass
class CliResult:
    status: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def run_cli():
    """`run_cli("show", "cart-1", "--db", path)`: the command line in this process (fast)."""
    from cartui import cli

    def run(*args, env: dict | None = None) -> CliResult:
        with CliRunner().isolation(env=env) as (out, err, _):
            status = cli.run([str(a) for a in args])
            sys.stdout.flush()
            sys.stderr.flush()
            return CliResult(status, out.getvalue().decode(), err.getvalue().decode())

    return run


def cartui_command(*args) -> list[str]:
    """The argv of `cartui ARGS...` as a real process."""
    return [sys.executable, "-m", "cartui", *map(str, args)]


def process_env() -> dict:
    """The environment for a child process: this test's (isolated) default database."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def popen_cartui():
    """`popen_cartui("events", "--follow", ...)`: a running `cartui` process, output piped."""
    def start(*args, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(cartui_command(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=process_env(), **kwargs)

    return start


@pytest.fixture
def child_env() -> dict:
    return process_env()


@pytest.fixture
def run_process():
    """`run_process("show", ...)`: `cartui` as a separate process (slower: for exit codes
    and output exactly as a shell sees them)."""
    def run(*args, timeout: float = 60, **kwargs) -> CliResult:
        done = subprocess.run(cartui_command(*args), capture_output=True, text=True,
                              timeout=timeout, env=process_env(), **kwargs)
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run
