"""How long a training run is when nobody chose: epochs from the library's size (no torch here)."""

from __future__ import annotations

import math


def default_epochs(photos: int, training: dict) -> int:
    """Epochs for a run whose length nobody chose: the config's, fewer for a large library.

    Quality follows the number of optimiser steps more than the number of passes: a
    library twice the size reaches the same codes in half the epochs, each step seeing
    new photos. `training.max_steps` caps the steps a default run takes (0: no cap), so
    training time stops growing with the library at about 10,000 photos; at least
    `training.min_epochs` passes are always made.
    """
    epochs = int(training.get("epochs", 30))
    budget = int(training.get("max_steps", 0))
    if budget <= 0 or photos <= 0:
        return epochs
    per_epoch = math.ceil(photos / max(1, int(training.get("batch_size", 256))))
    return max(int(training.get("min_epochs", 3)), min(epochs, math.ceil(budget / per_epoch)))
