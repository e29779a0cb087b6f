"""Stand-in for workerd's ``_cloudflare_compat_flags``: every compatibility flag is off."""

from __future__ import annotations


def __getattr__(name: str) -> bool:
    return False
