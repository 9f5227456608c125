"""The image tower on ONNX Runtime, optionally int8: a faster CPU path for indexing.

``OnnxImageTower(backbone, folder, int8=True)`` exports the backbone's image tower once
(with the same outputs as :meth:`Backbone.encode_images_with_tokens`: the normalised
embedding and, for plain ViTs, the patch tokens projected and pooled on 1/2/3 grids),
quantises its weights to int8 (ONNX Runtime's dynamic quantisation: int8 weights, int8
activations scaled per batch), and runs it with ONNX Runtime's CPU provider.  Exports
are cached in ``folder`` under a name derived from the backbone key, the options and the
onnxruntime version, so a second run starts at once.

int8 embeddings are close to, not equal to, fp32 ones (see docs/performance.md for the
scenes mAP change): a library should not mix them under one backbone key, which is why
:attr:`key_suffix` exists for callers that store embeddings.

Needs the optional ``onnx`` and ``onnxruntime`` packages (``pip install bitlens[onnx]``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from .tokens import TOKEN_SCALES

if TYPE_CHECKING:  # the tower is built from a Backbone, which builds it on first use: a type, not an import
    from .backbones import Backbone


def _pooling_matrix(side: int) -> np.ndarray:
    """(14, side*side) weights: row r averages the patches of one adaptive-pooling bin."""
    rows = []
    for scale in TOKEN_SCALES:
        for i in range(scale):
            for j in range(scale):
                r0, r1 = (i * side) // scale, -((-(i + 1) * side) // scale)
                c0, c1 = (j * side) // scale, -((-(j + 1) * side) // scale)
                cell = np.zeros((side, side), np.float32)
                cell[r0:r1, c0:c1] = 1.0 / ((r1 - r0) * (c1 - c0))
                rows.append(cell.reshape(-1))
    return np.stack(rows)


class OnnxUnavailable(RuntimeError):
    """onnx / onnxruntime are not installed."""


def _wrapper(backbone: Backbone):
    """A torch module with the tower's outputs as BitLens uses them (embedding, pooled tokens)."""
    import torch
    import torch.nn.functional as F

    visual = backbone.model.visual
    with_tokens = backbone.has_tokens

    class Tower(torch.nn.Module):
        pool: torch.Tensor  # a buffer: patches → the 1/2/3 grids, only with tokens

        def __init__(self) -> None:
            super().__init__()
            self.visual = visual
            if with_tokens:
                side = int(visual.grid_size[0])
                self.register_buffer("pool", torch.from_numpy(_pooling_matrix(side)), persistent=False)

        def forward(self, x):
            if not with_tokens:
                return (F.normalize(self.visual(x), dim=-1),)
            self.visual.output_tokens = True
            try:
                pooled, tokens = self.visual(x)
            finally:
                self.visual.output_tokens = False
            # pool_token_grid as one fixed matrix (adaptive average pooling to 1/2/3 grids
            # is a weighted sum of patches), which exports where adaptive pooling cannot.
            return F.normalize(pooled, dim=-1), torch.matmul(self.pool, tokens @ self.visual.proj)

    return Tower().eval(), with_tokens


class OnnxImageTower:
    """``encode_images_with_tokens`` of a backbone, run by ONNX Runtime (int8 by default)."""

    def __init__(self, backbone: Backbone, folder: str | os.PathLike[str], int8: bool = True, threads: Optional[int] = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as error:
            raise OnnxUnavailable("the ONNX image tower needs `pip install onnx onnxruntime`") from error
        self.backbone = backbone
        self.int8 = int8
        self.key_suffix = "onnx-int8" if int8 else "onnx-fp32"
        tag = hashlib.sha256(f"{backbone.spec.key}|{ort.__version__}|opset17|v1".encode()).hexdigest()[:16]
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fp32_path = folder / f"image-tower-{tag}.onnx"
        path = folder / f"image-tower-{tag}-int8.onnx" if int8 else fp32_path
        self.with_tokens = backbone.has_tokens
        if not path.is_file():
            self._export(fp32_path, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path

    def _export(self, fp32_path: Path, path: Path) -> None:
        import torch

        module, _ = _wrapper(self.backbone)
        size = self.backbone.image_size
        example = torch.zeros(2, 3, size, size)
        names = ["embedding", "tokens"] if self.with_tokens else ["embedding"]
        if not fp32_path.is_file():
            # One temporary name per process: Ray workers on one node may export at once.
            tmp = fp32_path.with_name(f"{fp32_path.name}.{os.getpid()}.tmp")
            # Not under no_grad/inference_mode: there torch swaps in a fused attention
            # kernel that has no ONNX form.
            with torch.enable_grad():
                torch.onnx.export(
                    module,
                    (example,),
                    str(tmp),
                    input_names=["pixels"],
                    output_names=names,
                    dynamic_axes={"pixels": {0: "batch"}, **{n: {0: "batch"} for n in names}},
                    opset_version=17,
                    dynamo=False,
                )
            tmp.replace(fp32_path)
        if path != fp32_path:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QInt8)
            tmp.replace(path)

    def encode_images_with_tokens(self, batch) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Like :meth:`Backbone.encode_images_with_tokens` for a preprocessed (N, 3, S, S) batch."""
        pixels = np.ascontiguousarray(batch.cpu().numpy() if hasattr(batch, "cpu") else batch, dtype=np.float32)
        outputs = self.session.run(None, {"pixels": pixels})
        embeddings = outputs[0].astype(np.float32)
        # int8 arithmetic drifts the norm a little: renormalise like the torch path.
        embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        return embeddings, outputs[1].astype(np.float32) if self.with_tokens else None

    def encode_images(self, batch) -> np.ndarray:
        return self.encode_images_with_tokens(batch)[0]
