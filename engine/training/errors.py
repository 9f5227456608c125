"""Training errors, importable without torch (the CLI maps them to one-line messages)."""


class TrainingDataError(RuntimeError):
    """The library cannot give a training set (for instance: no tagged photos)."""


class ModelError(RuntimeError):
    """A model request the library cannot honour, in one sentence."""
