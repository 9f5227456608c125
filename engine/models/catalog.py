"""The backbones BitLens offers by name, with what each is good for (no heavy imports).

Any open_clip model works with `--backbone NAME --pretrained TAG`; these are the ones the app
and `bitlens models choices` list, each with its default weights tag. The first is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ModelOption:
    arch: str
    pretrained: Optional[str]
    label: str
    languages: str
    download: str  # what a first use fetches
    needs: tuple[str, ...] = ()  # extra Python packages

    def as_dict(self) -> dict:
        return {
            "backbone": self.arch,
            "pretrained": self.pretrained,
            "label": self.label,
            "languages": self.languages,
            "download": self.download,
            "needs": list(self.needs),
        }


# The default model, declared here only: the CLI's defaults, the hub's recommended download,
# the first-run dialog and the settings' placeholder all read it from here.
DEFAULT = ModelOption("ViT-B-32", "datacomp_xl_s13b_b90k", "ViT-B-32 (DataComp-XL), recommended", "English", "about 600 MB of weights")
DEFAULT_ARCH: str = DEFAULT.arch
DEFAULT_PRETRAINED: str = DEFAULT.pretrained or ""
DEFAULT_NAME = f"{DEFAULT_ARCH}/{DEFAULT_PRETRAINED}"  # as `bitlens models available` lists it

CHOICES: tuple[ModelOption, ...] = (
    DEFAULT,
    ModelOption(
        "xlm-roberta-base-ViT-B-32",
        "laion5b_s13b_b90k",
        "ViT-B-32 with XLM-RoBERTa text (LAION-5B), multilingual",
        "about 100 languages (queries in any of them)",
        "about 1.5 GB of weights, plus the xlm-roberta-base tokenizer and config from Hugging Face",
        needs=("transformers",),
    ),
    ModelOption("tiny", None, "small offline model (random weights, low quality)", "none (for trying the app)", "nothing"),
)

DEFAULT_TAGS = {c.arch: c.pretrained for c in CHOICES if c.pretrained}


def option(arch: str) -> Optional[ModelOption]:
    return next((c for c in CHOICES if c.arch == arch), None)
