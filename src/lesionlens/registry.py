"""Named registries with "did you mean" errors (models, attributions, constraints, methods).

Entries are registered with a decorator when their module is imported; ``lesionlens`` imports
every stage package that fills a registry, so ``Registry.names()`` is complete after
``import lesionlens``.

Example:
    >>> MODELS = Registry("model")
    >>> @MODELS.register("tiny")
    ... def tiny(**kw): ...
    >>> MODELS.get("tiny")  # doctest: +ELLIPSIS
    <function tiny ...>
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object table whose lookups fail with a suggestion."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name`` (lower-case, unique)."""
        if name != name.lower() or not name:
            raise ValueError(f"{self.kind} names are lower-case and non-empty, got {name!r}")

        def deco(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the entry for ``name``; unknown names raise ``ValueError`` with a suggestion."""
        key = str(name).lower()
        if key in self._entries:
            return self._entries[key]
        close = difflib.get_close_matches(key, self._entries, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown {self.kind} {name!r}.{hint} Choose one of: {', '.join(sorted(self._entries))}"
        )

    def create(self, name: str, **kwargs: Any) -> Any:
        """Look up ``name`` and call it with ``kwargs``."""
        return self.get(name)(**kwargs)  # type: ignore[operator]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
