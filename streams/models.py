"""Trained models on disk: the packaged default and any file ``borderwatch train`` wrote.

Detectors do no I/O, so the composition root loads the artifact here and hands the detector
a :class:`~detectors.hazard.HazardModel`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from detectors.hazard import HazardModel, ModelError
from streams.errors import ConfigError

#: The model that ships with the package, trained by ``make model`` on the development borders
#: bundled in streams/data (its ``training`` field says exactly on what).
DEFAULT_MODEL = Path(__file__).resolve().parent / "data" / "hazard-model.json"


def load_model(path: str | Path | None = None) -> HazardModel:
    """The model at ``path`` (None or empty: the packaged default); errors name the file and the fix."""
    if not path:
        return default_model()
    return _read(Path(path))


@lru_cache(maxsize=1)
def default_model() -> HazardModel:
    return _read(DEFAULT_MODEL)


def _read(path: Path) -> HazardModel:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the model file {path}: {exc.strerror or exc}; "
                          f"make one with 'borderwatch train' or unset BORDERWATCH_MODEL") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the model file {path} is not UTF-8 JSON") from None
    try:
        return HazardModel.from_json(text)
    except ModelError as exc:
        raise ConfigError(f"{path}: not a usable model: {exc}") from None
