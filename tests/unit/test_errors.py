"""One exception root: every error class of the project is a BorderwatchError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from borderwatch.errors import BorderwatchError

PACKAGES = ("borderwatch", "detectors", "alerts", "streams")


def project_modules():
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            yield importlib.import_module(info.name)


def test_every_error_class_of_the_project_descends_from_the_one_root():
    errors = {f"{cls.__module__}.{cls.__qualname__}": cls
              for module in project_modules() for _, cls in inspect.getmembers(module, inspect.isclass)
              if issubclass(cls, BaseException) and cls.__module__ == module.__name__}
    assert len(errors) >= 20  # the walk found the packages' errors, not an empty tree
    outside = sorted(name for name, cls in errors.items() if not issubclass(cls, BorderwatchError))
    assert outside == []


def test_the_edges_still_catch_errors_by_their_builtin_kind():
    from alerts.policy import PolicyError
    from detectors.hazard import ModelError

    assert issubclass(PolicyError, ValueError) and issubclass(ModelError, ValueError)
