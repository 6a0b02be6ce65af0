"""README "Face checks in local mode": the documented command writes a round video that answers
a check asking for a left turn, as a trainee's own video note would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.faces.engine import FaceRefused
from infra.faces.liveness import HeadTurnChallenge, LivenessChecker, Turn
from infra.faces.video import frames_for_check

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_head_turn_clip_passes_a_left_turn_and_not_a_right_one(
    engine, tmp_path: Path
):
    out = tmp_path / "var" / "head-turn-left.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.video", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    clip = out.read_bytes()

    checker = LivenessChecker(engine)
    left = frames_for_check(engine, clip, Turn.LEFT)
    assert left.after is not None
    assert checker.check(HeadTurnChallenge(Turn.LEFT), left.before, left.after).passed
    with pytest.raises(FaceRefused) as refused:  # it turns left only, as the README says
        frames_for_check(engine, clip, Turn.RIGHT)
    assert refused.value.code.value == "no_head_turn"


def test_the_documented_setting_switches_the_head_turn_off(monkeypatch, tmp_path: Path):
    from infra.settings import load_settings

    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "WEB_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings().study.head_turn is True
    monkeypatch.setenv("STUDY_HEAD_TURN", "false")
    assert load_settings().study.head_turn is False
