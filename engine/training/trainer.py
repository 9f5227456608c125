"""The training loop for the hashing network.

On cached backbone features (the "head" effort), or with the backbone's image tower
trained alongside (the "finetune" and "scratch" efforts, see tower.py): then the
network's image inputs come from the tower, while the pairwise similarity targets keep
using the original backbone's embeddings, a fixed reference the tower cannot drift.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ..jobs import CancelToken, ProgressEvent
from ..models.backbones import pick_device
from ..models.hashing import GradientReversal, HashingConfig, HashingNet
from ..models.tokens import TOKENS_PER_IMAGE
from . import losses as L
from . import targets as T
from .checkpoints import restore_optimizer, save_checkpoint
from ..codes.hashing_file import HashingCodes, read_checkpoint
from .data import TrainingData
from .errors import ModelError
from ..search.cutoff import calibrated_radius
from .heldout import HeldOut, held_out, score
from .metrics import hamming_matrix


@dataclass
class TrainingState:
    """What a finished (or cancelled) run leaves: the network, its history, the best metric."""

    model: HashingNet
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    epochs_done: int = 0


class TrainingDiverged(ModelError):
    """The loss stopped being a number: the run is stopped rather than saving garbage."""


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The checkpoint tensors under `prefix`, keyed without it (as the module's state dict has them)."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


class Trainer:
    """Trains a HashingNet on TrainingData; reports progress, obeys a cancel token, checkpoints."""

    def __init__(
        self,
        data: TrainingData,
        config: HashingConfig,
        bits: int,
        checkpoint: Path,
        device: str = "auto",
        progress: Optional[Callable[[ProgressEvent], None]] = None,
        cancel: Optional[CancelToken] = None,
        tower=None,
        pixels=None,
    ) -> None:
        self.data = data
        self.tower, self.pixels = tower, pixels
        self.config = config
        self.bits = bits
        self.checkpoint = checkpoint
        self.device = pick_device(device)
        self.progress = progress
        self.cancel = cancel or CancelToken()
        train = config.training
        self.seed = int(train.get("seed", 0))
        self.batch_size = int(train.get("batch_size", 256))
        self.max_tags = int(config.network.get("max_tags", 12))
        self.weights = config.loss_weights
        self.tag_weight = float(config.targets.get("tag_weight", 0.7))
        self.scale = float(config.targets.get("similarity_scale", 10.0))
        self.sharpness = float(config.targets.get("target_sharpness", 10.0))
        self.pos_weight = float(config.targets.get("tag_pos_weight", 1.0))
        self.use_idf = bool(config.targets.get("idf", True))
        self.tag_sample = int(train.get("tag_sample", 0))
        self._held_out: Optional[HeldOut] = None  # the held-out comparison, built on the first validation
        # IDF weights: rare tags say more about two photos being alike than common ones
        df = np.bincount(
            np.concatenate([np.asarray(t, dtype=np.int64) for t in data.tag_lists if t] or [np.zeros(0, np.int64)]), minlength=len(data.vocabulary)
        )
        self.idf = torch.tensor(np.log((1 + len(data.hashes)) / (1 + df)) + 1, dtype=torch.float32, device=self.device)
        # Tag co-occurrence over the training photos (held-out photos' tags stay unseen)
        first, second = float(config.targets.get("tag_expansion", 0.0)), float(config.targets.get("tag_expansion_second", 0.0))
        if bits < int(config.targets.get("tag_expansion_second_min_bits", 0)):
            second = 0.0  # short codes keep the finer structure of one step (docs/hashing.md)
        vocabulary = len(data.vocabulary)
        self.expansion = None  # V × V: what each tag adds to a photo's expanded tags
        if (first > 0 or second > 0) and vocabulary:
            cooccurrence = T.training_cooccurrence(data.labels, data.train, vocabulary, self.device)
            self.expansion = L.expansion_matrix(cooccurrence, first, second)
        self.target_codes = None
        if config.components.get("target_codes") and vocabulary:
            codes = T.semantic_target_codes(data.labels, data.train, len(data.hashes), vocabulary, self.expansion, 1.0, bits, self.seed, device=self.device)
            self.target_codes = torch.from_numpy(codes).to(self.device)
        self.embeddings = torch.from_numpy(data.embeddings).to(self.device)
        # Patch tokens only feed cross-scale attention; without it they are not even copied to the device.
        uses_tokens = bool(config.components.get("cross_scale_attention", True))
        self.tokens = None if data.tokens is None or not uses_tokens else torch.from_numpy(data.tokens).to(self.device)
        self.vocab_embeddings = torch.from_numpy(data.vocabulary_embeddings).to(self.device)
        # Mixed precision on CUDA: bfloat16 where the GPU has it (float32's range, so no loss
        # scaling), else float16 with a gradient scaler; "off" trains in float32.
        amp = str(config.training.get("amp", "auto"))
        self.amp_dtype = None
        if self.device == "cuda" and amp != "off":
            wants_bf16 = amp in ("auto", "bf16") and torch.cuda.is_bf16_supported()
            self.amp_dtype = torch.bfloat16 if wants_bf16 else torch.float16
        self.amp = self.amp_dtype is not None
        if pixels is not None:
            # photos that could not be read again since indexing take no part
            keep = pixels.valid
            self.train_index = np.asarray([i for i in data.train if keep[i]])
            self.validation_index = np.asarray([i for i in data.validation if keep[i]], dtype=np.int64)
        else:
            self.train_index, self.validation_index = data.train, data.validation

    def _set_mode(self, model: HashingNet, training: bool) -> None:
        """Training or evaluation mode for the network and, when it trains too, the tower."""
        model.train(training)
        if self.tower is not None:
            self.tower.train(training)

    def image_inputs(self, idx: torch.Tensor, training: bool) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The hashing network's image inputs: cached features, or the tower's output."""
        if self.tower is None:
            return self.embeddings[idx], None if self.tokens is None else self.tokens[idx]
        return self.tower(self.pixels.batch(idx, augment=training))

    def metadata(self, epochs_done: int, history: list[dict], metrics: dict) -> dict:
        return {
            "config": self.config.to_dict(),
            "bits": self.bits,
            "in_dim": self.data.dim,
            "tokens_per_image": 0 if self.data.tokens is None else int(self.data.tokens.shape[1]),
            "vocabulary": self.data.vocabulary,
            "epochs_done": epochs_done,
            "history": history,
            "metrics": metrics,
        }

    def _new_model(self) -> HashingNet:
        _seed_everything(self.seed)
        tokens_per_image = TOKENS_PER_IMAGE if self.data.tokens is None else int(self.data.tokens.shape[1])
        model = HashingNet(self.config, self.data.dim, self.bits, len(self.data.vocabulary), tokens_per_image).to(self.device)
        model.set_vocabulary(self.vocab_embeddings)
        return model

    def _indexed_tag_sets(self, indices: np.ndarray, rng: np.random.Generator, embed: bool = True) -> tuple[Optional[torch.Tensor], torch.Tensor, torch.Tensor]:
        """Padded tag-embedding sets (None unless `embed`), their mask and vocabulary indices
        (`TrainingData.sample_tag_sets`)."""
        index, mask = self.data.sample_tag_sets(indices, rng, self.max_tags)
        index_t, mask_t = torch.from_numpy(index).to(self.device), torch.from_numpy(mask).to(self.device)
        return (self.vocab_embeddings[index_t] * mask_t.unsqueeze(-1)) if embed else None, mask_t, index_t

    def _vocabulary_columns(self, labels: np.ndarray, rng: np.random.Generator) -> Optional[torch.Tensor]:
        """The vocabulary tags the tag losses score this step, or None for all of them.

        A large vocabulary is sampled: every tag of the batch's photos plus random others up
        to `training.tag_sample` (negative sampling). Scoring every tag against every photo
        and image token (tag BCE, pixel–text matching) is the step's largest cost once the
        vocabulary reaches the thousands.
        """
        vocabulary, sample = labels.shape[1], self.tag_sample
        if sample <= 0 or vocabulary <= sample:
            return None
        present = (labels > 0).any(axis=0)
        positives = np.flatnonzero(present)
        others = np.flatnonzero(~present)
        extra = rng.choice(others, size=min(len(others), max(0, sample - len(positives))), replace=False)
        return torch.from_numpy(np.sort(np.concatenate([positives, extra]))).to(self.device)

    def _loss(self, model: HashingNet, indices: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.weights
        idx = torch.from_numpy(indices).to(self.device)
        embedding = self.embeddings[idx]  # the original backbone's: the similarity targets' reference
        features, tokens = self.image_inputs(idx, training=True)
        parts = self.config.components
        # with pixel–text matching the network takes the tags' tokens from the scored vocabulary
        tags, mask, tag_index = self._indexed_tag_sets(indices, rng, embed=not parts.get("pixel_text_matching"))
        label_rows = self.data.labels(indices)
        labels = torch.from_numpy(label_rows).to(self.device)
        has_tags = torch.from_numpy(self.data.has_tags(indices)).to(self.device)
        columns = self._vocabulary_columns(label_rows, rng)
        vocabulary = None
        if parts.get("pixel_text_matching"):
            vocabulary = self.vocab_embeddings if columns is None else self.vocab_embeddings[columns]
        out = model(features, tokens, tags, mask, vocabulary, tag_index, columns)
        scored = labels if columns is None else labels[:, columns]  # the tag logits' columns
        expanded = L.expand_tags(labels, self.expansion)
        targets = L.similarity_targets(expanded, has_tags, embedding, self.tag_weight, self.idf if self.use_idf else None)
        tagged_cols = has_tags[None, :].float().expand(len(indices), -1)
        # same-modality pairs leave out the trivial pair of a photo with itself
        not_self = 1.0 - torch.eye(len(indices), device=self.device)
        tagged_pairs = (has_tags[:, None] & has_tags[None, :]).float() * not_self
        image, text = out["image_code"], out["text_code"]
        pairs = [(image, image, not_self), (image, text, tagged_cols), (text, text, tagged_pairs)]
        if "fused_code" in out:
            fused = out["fused_code"]
            pairs += [(image, fused, tagged_cols), (text, fused, tagged_pairs + torch.diag(has_tags.float())), (fused, fused, tagged_pairs)]
        similarity = L.similarity_losses(pairs, targets, self.scale, self.sharpness)
        terms: dict[str, torch.Tensor] = {
            "similarity_image_image": similarity[0],
            "similarity_image_text": similarity[1],
            "similarity_text_text": similarity[2],
            "quantisation": L.quantisation_loss(torch.cat([image, text[has_tags]])),
            "bit_balance": L.bit_balance_loss(image) + (L.bit_balance_loss(text[has_tags]) if has_tags.any() else 0),
        }
        if "fused_code" in out:
            terms["similarity_fused"] = similarity[3:].sum()
        if float(w.get("distillation", 0.0)):
            # CLIP's own neighbourhoods for every pair, tagged or not (docs/hashing.md, "Open vocabulary")
            terms["distillation"] = L.distillation_loss([image] + ([out["fused_code"]] if "fused_code" in out else []), embedding, self.scale, self.sharpness)
        if self.target_codes is not None:
            wanted = self.target_codes[idx].float()
            terms["code_target"] = T.code_target_loss(image, wanted) + T.code_target_loss(text, wanted * has_tags[:, None])
            if "fused_code" in out:
                terms["code_target"] = terms["code_target"] + T.code_target_loss(out["fused_code"], wanted)
        if parts.get("tag_bce"):
            tag_terms = L.tag_bce_loss(out["image_tag_logits"], scored, has_tags, self.pos_weight)
            if "fused_tag_logits" in out:
                tag_terms = tag_terms + L.tag_bce_loss(out["fused_tag_logits"], scored, has_tags, self.pos_weight)
            terms["tag_bce"] = tag_terms
        if "pixel_text_logits" in out:
            terms["pixel_text"] = L.tag_bce_loss(out["pixel_text_logits"], scored, has_tags, self.pos_weight)
        if "prototypes" in out:
            terms["prototype"] = L.prototype_loss(image, out["prototypes"], labels, has_tags, self.scale) + L.prototype_loss(
                text, out["prototypes"], labels, has_tags, self.scale
            )
        if model.label_net is not None and has_tags.any():
            label_codes = torch.tanh(model.label_net(labels[has_tags]))
            label_targets = L.tag_similarity(expanded[has_tags], self.idf if self.use_idf else None)
            terms["label_network"] = (
                L.pairwise_similarity_loss(label_codes, label_codes, label_targets, self.scale, sharpness=self.sharpness)
                + L.pairwise_similarity_loss(label_codes, image[has_tags], label_targets, self.scale, sharpness=self.sharpness)
                + L.pairwise_similarity_loss(label_codes, text[has_tags], label_targets, self.scale, sharpness=self.sharpness)
            )
        if model.discriminator is not None and has_tags.any():
            terms["adversarial"] = L.adversarial_loss(model.discriminator, GradientReversal.apply(image), GradientReversal.apply(text[has_tags]))
        total = sum(float(w.get(name, 0.0)) * value for name, value in terms.items())
        return total, {name: float(value.detach()) if torch.is_tensor(value) else float(value) for name, value in terms.items()}

    def _inputs(self, ix: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Image inputs of photos as numpy (`heldout.Inputs`): cached features, or the tower's output."""
        data = self.data
        if self.tower is None:
            return data.embeddings[ix], None if data.tokens is None else data.tokens[ix]
        features, tokens = [], []
        for start in range(0, len(ix), 512):
            e, t = self.image_inputs(torch.from_numpy(ix[start : start + 512]).to(self.device), training=False)
            features.append(e.float().cpu().numpy())
            tokens.append(None if t is None else t.float().cpu().numpy())
        if not features:
            return np.zeros((0, data.dim), np.float32), None
        return np.concatenate(features), None if tokens[0] is None else np.concatenate(tokens)

    @torch.no_grad()
    def validate(self, model: HashingNet) -> dict[str, float]:
        """The held-out figures (`heldout.py`, the same Evaluate shows) and the close-matches radius."""
        self._set_mode(model, False)
        if self._held_out is None:
            self._held_out = held_out(self.data, self.seed, None if self.pixels is None else self.pixels.valid)
        held = self._held_out
        if held.empty:
            self._set_mode(model, True)
            return {}
        # the network as the library will use it once exported (engine/codes/hashing_file.py)
        codes = HashingCodes(
            model,
            device=self.device,
            vocabulary=self.data.vocabulary,
            vocabulary_embeddings=self.vocab_embeddings,
            database_codes=str(self.config.training.get("database_codes", "image")),
            max_tags=self.max_tags,
        )
        scores = score(codes, held, self.data, self._inputs)
        # The default "close matches only" radius: a held-out photo's tag set as the query,
        # the training photos' pixel codes as the answers (docs/search.md).
        pixel_codes = scores.database_codes if not codes.needs_tags else codes.encode_images(*self._inputs(held.database))
        sets, mask, tag_index = self._indexed_tag_sets(held.queries, np.random.default_rng(0))
        set_codes = model.text_codes(sets, mask, tag_index).cpu().numpy()
        radius, precision, recall = calibrated_radius(hamming_matrix(set_codes, pixel_codes), held.relevant, self.bits)
        self._set_mode(model, True)
        return {**scores.figures(), "close_radius": radius, "close_precision": precision, "close_recall": recall}

    def train(self, epochs: int, resume: bool = False) -> TrainingState:
        """Run (or continue) training for `epochs` epochs in total; checkpoints after each."""
        model = self._new_model()
        lr = float(self.config.training.get("learning_rate", 1e-3))
        groups = [{"params": list(model.parameters())}]
        if self.tower is not None:
            self.tower.to(self.device)
            key = "scratch_learning_rate" if self.tower.from_pixels else "finetune_learning_rate"
            groups.append({"params": self.tower.trained_parameters(), "lr": float(self.config.training.get(key, lr * 0.1))})
        # The fused kernel updates every parameter in one call instead of a dozen small ops
        # per tensor: about a tenth of a CPU head step.
        optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=float(self.config.training.get("weight_decay", 1e-4)), fused=self.device in ("cpu", "cuda"))
        history: list[dict] = []
        start_epoch = 0
        if resume and self.checkpoint.is_file():
            try:  # one read of the file: network, tower and optimizer tensors and the metadata
                tensors, metadata = read_checkpoint(self.checkpoint)
                model.load_state_dict(_prefixed(tensors, "model."))
                if self.tower is not None:
                    self.tower.visual.load_state_dict(_prefixed(tensors, "tower.visual."), strict=False)
                optim_tensors = {k: v for k, v in tensors.items() if k.startswith("optim.")}
            except Exception as error:  # a damaged or foreign file: say so instead of a traceback
                raise ModelError(f"cannot resume from {self.checkpoint} ({type(error).__name__}: {error}); start the training again without resume") from error
            if optim_tensors:
                restore_optimizer(optimizer, optim_tensors)
            history = metadata.get("history", [])
            start_epoch = int(metadata.get("epochs_done", 0))
        train_idx = self.train_index
        steps_per_epoch = max(1, math.ceil(len(train_idx) / self.batch_size))
        total_steps = steps_per_epoch * epochs
        warmup = int(self.config.training.get("warmup_steps", 50))
        # The schedule depends only on the global step, so a resumed run continues it exactly.
        offset = start_epoch * steps_per_epoch

        def schedule(step: int) -> float:
            step += offset
            return min(1.0, (step + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self._set_mode(model, True)
        started = time.monotonic()
        state = TrainingState(model, history, history[-1] if history else {}, start_epoch)
        for epoch in range(start_epoch, epochs):
            # One generator per epoch: the same run with or without a resume sees the same batches.
            rng = np.random.default_rng([self.seed, epoch])
            torch.manual_seed(self.seed * 1000 + epoch)
            order = rng.permutation(train_idx)
            running = 0.0
            for step in range(steps_per_epoch):
                self.cancel.raise_if_cancelled()
                batch = order[step * self.batch_size : (step + 1) * self.batch_size]
                if len(batch) < 2:
                    continue
                with torch.autocast("cuda", dtype=self.amp_dtype or torch.float16, enabled=self.amp):
                    loss, terms = self._loss(model, batch, rng)
                if not torch.isfinite(loss):
                    raise TrainingDiverged(
                        f"training diverged at epoch {epoch + 1}, step {step + 1} (the loss is {float(loss)}): try a lower learning rate, or training.amp=off"
                    )
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                scheduler.step()
                running += float(loss.detach())
                done = epoch * steps_per_epoch + step + 1
                elapsed = time.monotonic() - started
                steps_this_run = done - start_epoch * steps_per_epoch
                eta = elapsed / steps_this_run * (total_steps - done)
                self._report(
                    "train", done, total_steps, f"epoch {epoch + 1}/{epochs}", {"loss": float(loss.detach()), "terms": terms, "epoch": epoch + 1, "eta_s": eta}
                )
            metrics = self.validate(model)
            record = {"epoch": epoch + 1, "loss": running / steps_per_epoch, **metrics}
            history.append(record)
            state = TrainingState(model, history, record, epoch + 1)
            extra = {"vocabulary_embeddings": self.vocab_embeddings}
            if self.tower is not None:
                extra.update({f"tower.{k}": v for k, v in self.tower.trained_state().items()})
            save_checkpoint(self.checkpoint, model, self.metadata(epoch + 1, history, record), optimizer, extra=extra)
            self._report("epoch", epoch + 1, epochs, f"epoch {epoch + 1}: loss {record['loss']:.4f}", record)
        self._set_mode(model, False)
        return state

    def _report(self, stage: str, done: int, total: int, message: str, data: dict) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(stage, done, total, message, data))
