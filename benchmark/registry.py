"""A small plug-in registry: decorator registration, lazy ``module:Class`` entries and entry points.

Three ways to add an entry, in the order they are consulted:

1. ``@REGISTRY.register("name")`` on a class (used by modules that are imported anyway);
2. ``REGISTRY.add_lazy("name", "package.module:Class")`` (built-ins whose heavy imports wait until use);
3. an installed distribution's entry point in the group ``REGISTRY.entry_point_group``, e.g.
   ``[project.entry-points."osasis_bench.methods"] mymethod = "mypkg.method:MyMethod"``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from benchmark.errors import ConfigError

T = TypeVar("T")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


class Registry(Generic[T]):
    """Name -> class mapping with lazy resolution and validation of names and base classes."""

    def __init__(self, kind: str, base: type, entry_point_group: str) -> None:
        self.kind = kind
        self.base = base
        self.entry_point_group = entry_point_group
        self._classes: dict[str, type[T]] = {}
        self._lazy: dict[str, str] = {}
        self._entry_points_loaded = False

    def _check_name(self, name: str) -> None:
        if not _NAME.match(name):
            raise ConfigError(f"invalid {self.kind} name {name!r}: use lower-case letters, digits, '_', '-', '.'")
        if name in self._classes or name in self._lazy:
            raise ConfigError(f"{self.kind} {name!r} is already registered")

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator that registers the class under ``name``."""

        def decorator(cls: type[T]) -> type[T]:
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise ConfigError(f"{cls!r} must subclass {self.base.__name__} to be a {self.kind}")
            existing = self._classes.get(name)
            if existing is not None and existing is not cls and _qualname(existing) != _qualname(cls):
                raise ConfigError(f"{self.kind} {name!r} is already registered to {_qualname(existing)}")
            if name in self._lazy and self._lazy[name] != _qualname(cls):
                raise ConfigError(f"{self.kind} {name!r} is already registered to {self._lazy[name]}")
            if not _NAME.match(name):
                raise ConfigError(f"invalid {self.kind} name {name!r}")
            self._classes[name] = cls
            cls.name = name  # type: ignore[attr-defined]
            return cls

        return decorator

    def add_lazy(self, name: str, target: str) -> None:
        """Register ``package.module:Class`` to be imported on first use."""
        if ":" not in target:
            raise ConfigError(f"lazy {self.kind} target must look like 'module:Class', got {target!r}")
        self._check_name(name)
        self._lazy[name] = target

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._classes and ep.name not in self._lazy:
                self._lazy[ep.name] = ep.value

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load_entry_points()
        return sorted(set(self._classes) | set(self._lazy))

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def get(self, name: str) -> type[T]:
        """The class registered under ``name`` (importing it if it is lazy)."""
        self._load_entry_points()
        if name in self._classes:
            return self._classes[name]
        if name not in self._lazy:
            raise ConfigError(f"unknown {self.kind} {name!r}; registered: {', '.join(self.names())}")
        module_name, _, attr = self._lazy[name].partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise ConfigError(f"{self._lazy[name]} is not a {self.base.__name__}")
        self._classes[name] = cls
        cls.name = name  # type: ignore[attr-defined]
        return cls


def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"
