"""Importing torch in a worker thread without freezing the window for half a second.

Python holds the GIL while it loads an extension module's shared library, and
torch's libraries take 0.3–0.5 s to load and relocate: the GUI thread cannot run
for that long. Calling the C library's `dlopen` through ctypes releases the GIL, so
loading the same libraries that way first leaves only a cheap second `dlopen` (a
reference count) to the import. Linux only; anywhere else, or if anything differs
from what is expected, torch is simply imported the usual way.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import sys
import threading

# Dependency order, as torch itself loads them (global deps first, with RTLD_GLOBAL).
_LIBRARIES = (
    ("lib/libtorch_global_deps.so", True),
    ("lib/libc10.so", False),
    ("lib/libtorch_cpu.so", False),
    ("lib/libtorch.so", False),
    ("lib/libtorch_python.so", False),
)
_lock = threading.Lock()
_handles: list[int] = []  # kept forever: the libraries must stay loaded


def _dlopen():
    for name in (None, "libdl.so.2"):
        try:
            function = ctypes.CDLL(name).dlopen
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.c_char_p, ctypes.c_int]
        return function
    return None


def preload_torch_libraries() -> int:
    """Load torch's shared libraries with the GIL released; returns how many were loaded."""
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return 0
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return 0
    package = list(spec.submodule_search_locations)[0]
    dlopen = _dlopen()
    if dlopen is None:
        return 0
    paths = [(os.path.join(package, name), shared) for name, shared in _LIBRARIES]
    paths += [(path, False) for path in glob.glob(os.path.join(package, "_C.*.so"))]
    loaded = 0
    for path, shared in paths:
        if not os.path.isfile(path):
            continue
        mode = os.RTLD_NOW | (os.RTLD_GLOBAL if shared else os.RTLD_LOCAL)
        handle = dlopen(path.encode(), mode)  # ctypes calls release the GIL
        if not handle:
            break  # let the regular import report whatever is wrong
        _handles.append(handle)
        loaded += 1
    return loaded


def import_torch():
    """`import torch`, with its libraries loaded first without holding the GIL."""
    with _lock:
        if "torch" not in sys.modules:
            try:
                preload_torch_libraries()
            except Exception:  # an optimisation only: the import below still works
                pass
    import torch

    return torch
