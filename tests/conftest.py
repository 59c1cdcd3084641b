"""Shared fixtures. Every test runs offline; models are the tiny random one unless a test says
otherwise. Converted models are cached across sessions (they never change); everything else a
test caches lives in a fresh temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
_PERSISTENT_MODELS = Path(os.environ.get("AFPIPE_TEST_MODELS", Path.home() / ".cache" / "afpipe" / "models"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("afpipe-cache")
    _PERSISTENT_MODELS.mkdir(parents=True, exist_ok=True)
    (root / "models").symlink_to(_PERSISTENT_MODELS, target_is_directory=True)
    os.environ["AFPIPE_CACHE"] = str(root)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.pop("ANTHROPIC_API_KEY", None)
    return root


@pytest.fixture(scope="session")
def tiny_model_path(_isolated_cache: Path) -> str:
    from afpipe.models import resolve_model

    return resolve_model("tiny-random").path


@pytest.fixture(scope="session")
def smollm2_path(_isolated_cache: Path) -> str:
    from afpipe.models import resolve_model

    return resolve_model("smollm2-135m").path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (third-party data is only there on the project's machines)")
    return SHARED_DATA
