"""Every public docstring passes numpydoc's validation, and has a page in the API reference.

The checks are the ones in pyproject.toml's ``[tool.numpydoc_validation]``,
which docs/conf.py applies to the pages it builds.
"""

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import skvae

validate = pytest.importorskip("numpydoc.validate").validate

if sys.version_info >= (3, 11):
    import tomllib
else:  # numpydoc depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["numpydoc_validation"]


def public_modules():
    """skvae's public modules: those with an ``__all__`` and no private name on their path."""
    names = ["skvae"] + [info.name for info in pkgutil.walk_packages(skvae.__path__, "skvae.")]
    names = [name for name in names if not any(part.startswith("_") for part in name.split("."))]
    modules = [importlib.import_module(name) for name in names]
    return [module for module in modules if hasattr(module, "__all__")]


def own_members(cls):
    """Public methods and properties that skvae's classes define, inherited ones included.

    What scikit-learn, skorch and torch define is theirs to document.
    """
    members = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.split(".")[0] != "skvae":
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (callable(value) or isinstance(value, property)):
                members[name] = value
    return sorted(members)


def public_objects():
    """``{qualified name: object}`` of every public function and class, once each."""
    found = {}
    for module in public_modules():
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                # A name exported twice (skvae.TrainingDivergedError) is one object.
                found.setdefault(obj, f"{module.__name__}.{name}")
    return {name: obj for obj, name in found.items()}


def public_names():
    names = []
    for name, obj in public_objects().items():
        names.append(name)
        if inspect.isclass(obj):
            names += [f"{name}.{member}" for member in own_members(obj)]
    excluded = [re.compile(pattern) for pattern in CONFIG["exclude"]]
    return [name for name in names if not any(p.search(name) for p in excluded)]


def test_checks_are_configured():
    checks = set(CONFIG["checks"])
    assert "all" in checks
    # These are the point of validating: documented parameters and returns.
    assert not checks & {"PR01", "PR02", "RT01", "PR07", "RT03", "GL08"}


def test_public_names_are_found():
    names = public_names()
    for expected in ("skvae.VAETransformer", "skvae.VAETransformer.transform",
                     "skvae.plotting.plot_manifold", "skvae.datasets.load_mnist",
                     "skvae.dask.transform"):
        assert expected in names
    # Inherited from scikit-learn: documented there, not validated here.
    assert "skvae.VAETransformer.get_params" not in names
    # Internals are no API: their docstrings are written for maintainers.
    assert not [name for name in names if "._" in name]


@pytest.mark.parametrize("name", public_names())
def test_docstring(name):
    ignored = set(CONFIG["checks"]) - {"all"}
    errors = [f"{code}: {message}" for code, message in validate(name)["errors"]
              if code not in ignored]
    assert not errors, "\n".join(errors)


def test_plotting_functions_have_examples():
    # Beyond the configured checks: a figure function shows how it is called.
    import skvae.plotting

    for name in skvae.plotting.__all__:
        codes = [code for code, _ in validate(f"skvae.plotting.{name}")["errors"]]
        assert "EX01" not in codes, name


def test_every_public_object_has_a_page():
    """docs/api.rst lists every public function and class under a name that reaches it."""
    listed = set()
    module = None
    for line in (ROOT / "docs" / "api.rst").read_text().splitlines():
        if line.startswith((".. currentmodule::", ".. module::")):
            module = line.split("::")[1].strip()
        elif module and re.fullmatch(r"   [A-Za-z_][\w.]*", line):
            listed.add(f"{module}.{line.strip()}")

    def resolve(qualified):
        module_name, _, attr = qualified.rpartition(".")
        return getattr(importlib.import_module(module_name), attr)

    pages = {id(resolve(name)) for name in listed}
    missing = [name for name, obj in public_objects().items() if id(obj) not in pages]
    assert not missing, f"not in docs/api.rst: {missing}"
