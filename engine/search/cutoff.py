"""The relevance cutoff: how far (in bits) a result may be from the query and still count.

Two unrelated K-bit codes differ in about K/2 bits. With independent fair bits the standard
deviation would be sqrt(K)/2 and the default radius, K/2 - sqrt(K), two of them below chance.
Real code bits are correlated, so the spread is wider: on the scenes benchmark (stand-in CLIP,
ITQ 64-bit, 800 photos, 60 text queries; bench/cutoff_bench.py) radius 24 kept 14% of the
photos per query and left no query empty, radius 16 kept 1.8%. The slider / --radius N set
it per search.
"""

from __future__ import annotations

import math


def default_radius(bits: int) -> int:
    """The default cutoff for K-bit codes: 16 → 4, 32 → 10, 64 → 24, 128 → 52."""
    if bits <= 0:
        raise ValueError(f"bits must be positive, got {bits}")
    return max(0, int(math.floor(bits / 2 - math.sqrt(bits))))


def parse_radius(text: str, bits: int) -> int:
    """A user's radius: a whole number of bits, or 'auto' for the default."""
    if text.strip().lower() in ("auto", "default", ""):
        return default_radius(bits)
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"radius must be a whole number of bits or 'auto', not '{text}'") from None
    if not 0 <= value <= bits:
        raise ValueError(f"radius must be between 0 and {bits} for {bits}-bit codes, not {value}")
    return value
