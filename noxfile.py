"""Quality gates: ``python -m nox`` runs tests (every supported Python found), lint,
typecheck and the demo. ``nox -s tests-3.12`` and friends pick one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

SUPPORTED = ("3.11", "3.12", "3.13", "3.14")
nox.options.sessions = ["lint", "typecheck", "tests", "docs", "demo"]
nox.options.reuse_existing_virtualenvs = True


def _pyenv_bins() -> list[str]:
    """pyenv's installed interpreters, so ``python3.12`` resolves even when not global."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [root.glob(f"{version}*/bin") for version in SUPPORTED]
    return [str(path) for paths in found for path in sorted(paths)]


os.environ["PATH"] = os.pathsep.join([*_pyenv_bins(), os.environ.get("PATH", "")])


def _works(version: str) -> bool:
    path = shutil.which(f"python{version}")
    if path is None:
        return False
    done = subprocess.run([path, "-c", "pass"], capture_output=True, check=False)
    return done.returncode == 0


PYTHONS = [version for version in SUPPORTED if _works(version)] or None


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite with coverage (fails under 90 %)."""
    session.install("-e", ".[test]")
    # Process-heavy tests (signals, kills, forks) run once, on the newest Python found.
    newest = PYTHONS is None or session.python == PYTHONS[-1]
    env = {"INTERCOM_EVENTS_PROCESS_TESTS": "1" if newest else "0"}
    # coverage starts before pytest: the package's pytest plugin imports it at start-up.
    session.run("coverage", "run", "-m", "pytest", *session.posargs, env=env)
    session.run("coverage", "report", "--fail-under=90")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[redis]", "mypy>=1.10", "types-requests", "pytest")
    session.run("mypy", "--strict", "intercom_events")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, built strictly (broken links and references fail)."""
    session.install("-e", ".", "mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26")
    site = session.create_tmp()
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against raw requests/aiohttp and python-intercom; writes docs/performance.md."""
    session.install(".", "python-intercom>=5,<6")
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The demo against the bundled fake, installed as a user would."""
    session.install(".")
    session.run("intercom-events", "demo")
