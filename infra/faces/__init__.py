"""Face checks: enrolment quality gate, verification against the enrolment photo, liveness.

See docs/faces.md for the models, their licences, the threshold and what liveness does not stop.
"""

from __future__ import annotations

from pathlib import Path

from infra.faces.engine import (
    Analysis,
    AsyncFaceEngine,
    Face,
    FaceConfig,
    FaceEngine,
    FaceRefused,
    FaceResult,
    Quality,
    Refusal,
)
from infra.faces.models import FaceModels, ModelError, default_cache_dir, ensure_models

__all__ = [
    "Analysis",
    "AsyncFaceEngine",
    "Face",
    "FaceConfig",
    "FaceEngine",
    "FaceModels",
    "FaceRefused",
    "FaceResult",
    "ModelError",
    "Quality",
    "Refusal",
    "default_cache_dir",
    "ensure_models",
    "verify_files",
]


def verify_files(
    reference: Path, probe: Path, cache_dir: Path, threshold: float | None = None
) -> FaceResult:
    """What `jijiao face-verify` runs: the production path on two files (OSError if unreadable)."""
    reference_bytes, probe_bytes = reference.read_bytes(), probe.read_bytes()
    config = FaceConfig() if threshold is None else FaceConfig(threshold=threshold)
    return FaceEngine.from_cache(cache_dir, config).verify(reference_bytes, probe_bytes)
