"""The vendored reference evaluation (tests/reference_eval/) is the shared one, byte for byte."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "tests" / "reference_eval"
SHARED = ROOT.parent / "shared" / "eval"
COPIES = ("score_alerts.py", "baselines.py", "realdata_common.py", "README.md")


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared evaluation folder beside the repository")
@pytest.mark.parametrize("name", COPIES)
def test_vendored_copy_is_the_shared_file(name):
    assert (VENDORED / name).read_bytes() == (SHARED / name).read_bytes(), (
        f"tests/reference_eval/{name} differs from the shared copy: copy it again, do not edit it")


def test_every_copy_is_there_and_none_is_collected_as_a_test():
    assert all((VENDORED / name).is_file() for name in COPIES)
    assert not list(VENDORED.glob("test_*.py"))
