"""Per-domain parts of the access matrix.

Each module here may define any of:

- ``EXPECTATIONS``: ``{(method, path): (Case, ...)}`` for the domain's routes;
- ``BODIES``: ``{(method, path): lambda world: {...}}``, request bodies as in ``routes.BODIES``;
- ``PARAMS``: ``{name: world_id_key}``, default path parameters read from ``world.ids``;
- ``seed(engine, ids)``: adds the domain's objects to the seeded world (runs after the base
  seed, with the world's accounts in place) and stores their ids in ``ids``.

They are merged into ``tests/access/routes.py`` and ``tests/access/world.py`` so that a domain
states who may call its routes in its own file.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    ]
