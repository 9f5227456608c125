"""The relevance cutoff: how far (in bits) a result may be from the query and still count.

Two unrelated K-bit codes differ in about K/2 bits, with a standard deviation of
sqrt(K)/2 (independent fair bits). The default radius sits two standard deviations
below chance, K/2 - sqrt(K): a result that far from the query is closer than ~98% of
unrelated photos would be by luck. With it, "no good match" is a possible answer.
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
