"""Lazy package attributes: the one mechanism that keeps ``flyer --help`` and ``import fireflyer.cli`` fast.

A domain package's ``__init__`` names which submodule defines each public attribute; the submodule is
imported the first time one of its names is used (PEP 562). Modules themselves import at the top as usual,
so ``import fireflyer.eplb`` costs nothing until ``fireflyer.eplb.plan`` is touched, and only then pulls in
numpy (and never torch, unless a function that needs tensors is called).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def attach(package: str, exports: dict[str, list[str]]) -> tuple[Callable, Callable, list[str]]:
    """``__getattr__, __dir__, __all__`` for a package exporting ``exports[submodule] = [names]``.

    Submodules themselves are attributes too (``fireflyer.pipeline.measure``).
    """
    where = {name: sub for sub, names in exports.items() for name in names}
    subs = set(exports)
    public = sorted(set(where) | subs)

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        elif name in subs:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value  # NOTE: cached, so the next access is a plain attribute
        return value

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__, [n for n in public if n not in subs]
