"""Multilingual text queries: an XLM-RoBERTa text tower (as in open_clip's xlm-roberta-base-ViT-B-32), offline.

The real model needs its weights and the xlm-roberta-base tokenizer from Hugging Face. Offline,
the test builds the same architecture small and random: an XLM-RoBERTa config of 2 layers and a
SentencePiece-style Unigram tokenizer trained here on a few phrases in several scripts (the real
250k-piece vocabulary cannot be had offline). The text path is the one the real model uses:
open_clip's HFTextEncoder and HFTokenizer, then BitLens's codes and search.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

PHRASES = {
    "en": "a dog on the beach",
    "de": "ein Hund am Strand",
    "fr": "un chien sur la plage",
    "es": "un perro en la playa",
    "ru": "собака на пляже",
    "zh": "海滩上的狗",
    "ja": "浜辺の犬",
    "ko": "해변의 개",
    "ar": "كلب على الشاطئ",
    "hi": "समुद्र तट पर कुत्ता",
}
MORE = [
    "a cat on a sofa",
    "eine Katze auf dem Sofa",
    "кошка на диване",
    "沙发上的猫",
    "ソファの上の猫",
    "un chat sur le canapé",
    "sunset over the sea",
    "Sonnenuntergang über dem Meer",
    "coucher de soleil sur la mer",
    "日落",
    "закат над морем",
]


@pytest.fixture(scope="module")
def tiny_xlmr(tmp_path_factory) -> Path:
    """A model config JSON for a tiny CLIP whose text tower is a random 2-layer XLM-RoBERTa."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

    root = tmp_path_factory.mktemp("tiny-xlmr")
    hf = root / "xlm-roberta-tiny"
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..3 and its mask
    tokenizer.train_from_iterator(list(PHRASES.values()) + MORE, trainers.UnigramTrainer(vocab_size=400, special_tokens=specials, unk_token="<unk>"))
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = XLMRobertaTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
    )
    fast.save_pretrained(hf)
    XLMRobertaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=40,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        type_vocab_size=1,
    ).save_pretrained(hf)
    # as open_clip's xlm-roberta-base-ViT-B-32.json, with small towers
    config = {
        "embed_dim": 64,
        "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
        "text_cfg": {"hf_model_name": str(hf), "hf_tokenizer_name": str(hf), "hf_pooler_type": "mean_pooler", "context_length": 32},
    }
    path = root / "tiny-xlm-roberta-clip.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_text_tower_reads_every_script(tiny_xlmr):
    from engine.models.backbones import Backbone, BackboneSpec

    spec = BackboneSpec.from_args(str(tiny_xlmr))
    backbone = Backbone(spec, device="cpu")
    ids = backbone.tokenizer(list(PHRASES.values()))
    unk = 3
    for row, (lang, text) in zip(ids.tolist(), PHRASES.items()):
        content = [t for t in row if t not in (0, 1, 2)]
        assert content and unk not in content, f"{lang}: {text} became {row}"
    embeddings = backbone.encode_texts(list(PHRASES.values()))
    assert embeddings.shape == (len(PHRASES), 64) and np.isfinite(embeddings).all()
    assert len({e.tobytes() for e in embeddings}) == len(PHRASES)  # each language gives its own vector
    again = Backbone(spec, device="cpu").encode_texts([PHRASES["zh"]])
    assert np.allclose(again[0], embeddings[list(PHRASES).index("zh")], atol=1e-5)  # seeded random init: same every load


def test_non_english_queries_search_the_library(library, photo_tree, tiny_xlmr):
    from engine.models.backbones import BackboneSpec

    library.index([photo_tree], backbone=BackboneSpec.from_args(str(tiny_xlmr)), device="cpu")
    searcher = library.searcher(device="cpu")
    codes = {lang: searcher.query_code(text).tobytes() for lang, text in PHRASES.items()}
    assert len(set(codes.values())) > 1  # the text reaches the codes
    for text in (PHRASES["zh"], PHRASES["ru"], f'{PHRASES["fr"]} -"chat"', f'"{PHRASES["ar"]}":2 +{PHRASES["hi"]}'):
        results = searcher.search(text=text, limit=0)
        assert len(results) == 9 and [r.distance for r in results] == sorted(r.distance for r in results)


def test_multilingual_model_is_offered_with_its_weights_tag():
    from engine.models.backbones import BackboneSpec
    from engine.models.catalog import CHOICES

    multilingual = [c for c in CHOICES if "multilingual" in c.label]
    assert multilingual and multilingual[0].arch == "xlm-roberta-base-ViT-B-32"
    spec = BackboneSpec.from_args("xlm-roberta-base-ViT-B-32")
    assert spec.pretrained == "laion5b_s13b_b90k" and not spec.random_init


def test_cli_lists_the_choices(tmp_path):
    from cli.test_cli import bitlens

    choices = json.loads(bitlens(tmp_path / "lib", "models", "choices", "--json").stdout)
    assert {"backbone": "xlm-roberta-base-ViT-B-32", "pretrained": "laion5b_s13b_b90k"}.items() <= next(
        c for c in choices if c["backbone"].startswith("xlm")
    ).items()


def test_settings_offer_the_multilingual_model(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QComboBox

    from desktop_app import settings as s
    from desktop_app.settings_dialog import SettingsDialog

    settings = s.Settings.open(tmp_path / "settings.ini")
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    combo = next(editor for setting, editor in dialog._editors.values() if setting is s.BACKBONE)
    assert isinstance(combo, QComboBox) and combo.isEditable()
    items = [combo.itemText(i) for i in range(combo.count())]
    assert "xlm-roberta-base-ViT-B-32" in items and "tiny" in items
    combo.setCurrentIndex(items.index("xlm-roberta-base-ViT-B-32"))
    dialog.accept()
    assert settings.get(s.BACKBONE) == "xlm-roberta-base-ViT-B-32"
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    combo = next(editor for setting, editor in dialog._editors.values() if setting is s.BACKBONE)
    combo.setEditText("/models/my-clip.json")  # anything else may still be typed
    dialog.accept()
    assert settings.get(s.BACKBONE) == "/models/my-clip.json"
