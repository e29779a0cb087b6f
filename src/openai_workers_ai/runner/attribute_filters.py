"""OpenAI's attribute filters (``ComparisonFilter`` / ``CompoundFilter``) evaluated on a file's attributes.

Filters are evaluated here, in the gateway, against the attributes D1 keeps per file, rather than
pushed to Vectorize: Vectorize has no ``or``, filters only on properties with a metadata index
(at most 10 per index, created in advance), and attributes are the client's own keys. A search
resolves the filter to the set of matching files, and restricts both rankings to them.

Comparisons: ``eq``/``ne`` compare values of the same kind (a number never equals a string);
``gt``/``gte``/``lt``/``lte`` compare two numbers or two strings, and are false otherwise;
``in``/``nin`` test membership. A missing attribute satisfies only ``ne`` and ``nin``.
"""

from __future__ import annotations

from typing import Any

from ..ports import MetadataValue
from ..types.vector_stores import ComparisonFilter, CompoundFilter, Filter


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def _same(a: Any, b: Any) -> bool:
    return _kind(a) == _kind(b) and a == b


def matches(filter: Filter, attributes: dict[str, MetadataValue]) -> bool:
    """Whether a file with ``attributes`` passes ``filter``."""
    if isinstance(filter, CompoundFilter):
        results = (matches(f, attributes) for f in filter.filters)
        return all(results) if filter.type == "and" else any(results)
    return _compare(filter, attributes)


def _compare(filter: ComparisonFilter, attributes: dict[str, MetadataValue]) -> bool:
    op, value = filter.type, filter.value
    if filter.key not in attributes:
        return op in ("ne", "nin")
    actual = attributes[filter.key]
    if op == "eq":
        return _same(actual, value)
    if op == "ne":
        return not _same(actual, value)
    if op in ("in", "nin"):
        found = isinstance(value, list) and any(_same(actual, v) for v in value)
        return found if op == "in" else not found
    kind = _kind(actual)
    if kind == "bool" or kind != _kind(value):
        return False
    a, b = actual, value
    if op == "gt":
        return a > b  # type: ignore[operator]  # two numbers or two strings, checked above
    if op == "gte":
        return a >= b  # type: ignore[operator]
    if op == "lt":
        return a < b  # type: ignore[operator]
    return a <= b  # type: ignore[operator]
