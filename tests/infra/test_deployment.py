"""What an IT department deploys from: docker-compose.yml validated by the compose tool itself,
the image's shape, and .env.example, which must be a production configuration the app accepts
(a misspelt variable name would be ignored and its setting silently missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from infra.settings import load_settings
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]


def compose_command() -> list[str]:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    unavailable("docker compose", "neither `docker compose` nor `docker-compose` is installed")
    raise AssertionError  # unreachable


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The compose file as an operator has it: next to the Dockerfile, .env made from the
    example."""
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    return tmp_path


def compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "-f", str(project / "docker-compose.yml"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_compose_file_validates_with_the_compose_tool(project: Path):
    result = compose(project, "config")
    assert result.returncode == 0, result.stderr
    assert set(compose(project, "config", "--services").stdout.split()) == {
        "app",
        "postgres",
        "redis",
    }
    assert set(compose(project, "config", "--volumes").stdout.split()) == {
        "pgdata",
        "redisdata",
        "appdata",
    }
    resolved = result.stdout
    # The app waits for both servers to be healthy; each has its health check.
    assert resolved.count("condition: service_healthy") == 2
    assert "pg_isready" in resolved and "redis-cli" in resolved and "/readyz" in resolved
    # The secret from .env reaches the app's database URL, not a default password.
    assert "replace-with-a-database-password@postgres:5432/jijiao" in resolved


def test_the_compose_tool_really_checks(project: Path):
    compose_file = project / "docker-compose.yml"
    compose_file.write_text(
        compose_file.read_text().replace(
            "      redis:\n        condition", "      cache:\n        condition"
        )
    )
    result = compose(project, "config", "-q")
    assert result.returncode != 0
    assert "cache" in result.stderr


def test_the_image_runs_as_a_non_root_user_with_models_prepared_at_build():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    lines = [line.strip() for line in dockerfile.splitlines()]
    user = lines.index("USER jijiao")
    assert user < lines.index('CMD ["jijiao", "run"]')
    assert "ensure_models" in dockerfile.split("USER jijiao")[0]
    assert "HEALTHCHECK" in dockerfile


def test_the_example_environment_is_a_production_configuration_the_app_accepts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.chdir(tmp_path)  # no developer .env
    entries = [
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    for name, value in entries:
        monkeypatch.setenv(name, value)
    settings = load_settings()

    assert not settings.local_mode
    assert settings.payment.provider == "wechatpay"
    assert settings.payment.wechat_api_v3_key is not None
    assert settings.telegram.webhook_url == "https://jijiao.example.cn"
    assert settings.webhook_secret() == "replace-with-a-random-secret"
    assert settings.staff_group_id == -1001234567890
    assert settings.web.metrics_token is not None
    assert settings.study.retention_days == 30
    # Every name is one of the app's sections (POSTGRES_PASSWORD is docker-compose.yml's).
    sections = {name.split("_", 1)[0].lower() for name, _ in entries} - {"postgres"}
    assert sections <= set(type(settings).model_fields)
