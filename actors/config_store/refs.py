"""``$ref`` resolution for schemas, importing ``referencing`` only when a ``$ref`` is followed.

A schema without ``$ref`` (the core properties of a plugin without a schema file, most
plugin schemas) never loads it: the resolver is built on the first :func:`follow`.
"""

from __future__ import annotations

from typing import Any


class LazyResolver:
    """A resolver rooted at ``schema`` (its own ``#/definitions/...`` resolve), plus the
    schemas of ``registry`` (``(uri, schema)`` pairs) by their ``$id``."""

    __slots__ = ("_built", "_registry", "_schema")

    def __init__(self, schema: Any, registry: tuple[tuple[str, Any], ...] = ()) -> None:
        self._schema = schema
        self._registry = registry
        self._built: Any = None

    def lookup(self, ref: str) -> Any:
        """``referencing``'s ``Resolved`` (``.contents``, ``.resolver``); raises its
        ``Unresolvable``."""
        if self._built is None:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT7

            registry = Registry().with_resources(
                (uri, Resource.from_contents(doc)) for uri, doc in self._registry
            )
            self._built = registry.resolver_with_root(DRAFT7.create_resource(self._schema))
        return self._built.lookup(ref)


def follow(resolver: Any, ref: str) -> tuple[Any, Any] | None:
    """``(contents, resolver there)`` for ``ref``, or None when it cannot be resolved."""
    from referencing.exceptions import Unresolvable

    try:
        resolved = resolver.lookup(ref)
    except Unresolvable:
        return None
    return resolved.contents, resolved.resolver
