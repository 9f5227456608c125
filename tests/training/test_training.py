"""The hashing network, its losses, training, checkpoints and the model lifecycle."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conftest import SCENES, index_albums, make_photo


# -- losses on hand-computed cases ---------------------------------------------------------


def test_quantisation_and_bit_balance_losses():
    from engine.training import losses as L

    assert L.quantisation_loss(torch.tensor([[1.0, -1.0]])) == 0
    assert math.isclose(float(L.quantisation_loss(torch.tensor([[0.5, -0.5]]))), 0.25)
    balanced = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    assert L.bit_balance_loss(balanced) == 0
    assert float(L.bit_balance_loss(torch.ones(4, 2))) == 1.0


def test_tag_similarity_and_missing_tags_fall_back_to_features():
    from engine.training import losses as L

    labels = torch.tensor([[1.0, 0, 1], [1.0, 0, 0], [0.0, 0, 0]])
    sim = L.tag_similarity(labels)
    assert math.isclose(float(sim[0, 1]), 1 / math.sqrt(2), rel_tol=1e-6)
    assert float(sim[0, 0]) == pytest.approx(1.0)
    features = torch.tensor([[1.0, 0.0], [0.9, 0.1], [1.0, 0.01]])
    has_tags = torch.tensor([True, True, False])
    targets = L.similarity_targets(labels, has_tags, features, tag_weight=1.0)
    # both tagged: the tags decide; photo 2 has no tags: its targets are feature-based, not "unrelated"
    assert float(targets[0, 1]) == pytest.approx(float(sim[0, 1]))
    assert float(targets[0, 2]) == pytest.approx(float(L.feature_similarity(features)[0, 2]))
    assert float(targets[0, 2]) > 0.5  # near-identical features: similar, although no tag is shared


def test_similarity_loss_prefers_codes_that_keep_the_target_order():
    from engine.training import losses as L

    targets = torch.tensor([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    good = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, -1], [-1, -1, -1, -1.0]])
    bad = torch.tensor([[1.0, 1, 1, 1], [-1, -1, -1, -1], [1, 1, 1, -1.0]])
    assert L.pairwise_similarity_loss(good, good, targets) < L.pairwise_similarity_loss(bad, bad, targets)
    # pairs without a target are left out
    weight = torch.tensor([[1.0, 1, 0], [1, 1, 0], [0, 0, 0]])
    assert L.pairwise_similarity_loss(good, bad, targets, weight=weight) == pytest.approx(float(L.pairwise_similarity_loss(good[:2], bad[:2], targets[:2, :2])))
    # several pairs in one pass give each pair's own loss
    together = L.similarity_losses([(good, good, None), (good, bad, weight), (bad, bad, None)], targets)
    alone = [
        L.pairwise_similarity_loss(good, good, targets),
        L.pairwise_similarity_loss(good, bad, targets, weight=weight),
        L.pairwise_similarity_loss(bad, bad, targets),
    ]
    assert together.tolist() == pytest.approx([float(x) for x in alone])
    assert len(set(together.tolist())) == 3


def test_distillation_keeps_clip_neighbours_that_no_tag_shares():
    from engine.training import losses as L

    # photos 0 and 1 look alike, as do 2 and 3; whatever their tags say
    features = torch.tensor([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]])
    keeps = torch.tensor([[1.0, 1], [1, 1], [-1, -1], [-1, -1]])
    tags_only = torch.tensor([[1.0, 1], [-1, -1], [1, 1], [-1, -1]])  # codes that paired 0 with 2, as tags might
    assert L.distillation_loss([keeps], features) < L.distillation_loss([tags_only], features)
    # several code batches: the sum of each alone
    both = L.distillation_loss([keeps, tags_only], features)
    assert float(both) == pytest.approx(float(L.distillation_loss([keeps], features) + L.distillation_loss([tags_only], features)))
    # two photos: each has one neighbour, so nothing to rank and nothing to learn
    assert float(L.distillation_loss([tags_only[:2]], features[:2])) == pytest.approx(0.0)
    # by hand, three photos: photo 0's neighbours 1 (code similarity +1) and 2 (−1), scale 10;
    # the wanted distribution is the softmax of sharpness × feature similarity
    three = features[:3]
    codes = torch.tensor([[1.0, 1], [1, 1], [-1, -1]])
    s = L.feature_similarity(three)
    rows = []
    for i, (j, k) in enumerate(((1, 2), (0, 2), (0, 1))):
        wanted_j = 1 / (1 + math.exp(-10 * float(s[i, j] - s[i, k])))
        logit_j, logit_k = 10 * float(codes[i] @ codes[j]) / 2, 10 * float(codes[i] @ codes[k]) / 2
        log_z = math.log(math.exp(logit_j) + math.exp(logit_k))
        rows.append(-(wanted_j * (logit_j - log_z) + (1 - wanted_j) * (logit_k - log_z)))
    assert float(L.distillation_loss([codes], three)) == pytest.approx(sum(rows) / 3, rel=1e-5)


def test_map_on_a_hand_computed_ranking_keeps_ties_in_database_order():
    from engine.training.metrics import mean_average_precision, precision_at_k

    # query 0: items 1 and 2 tie at distance 1; database order puts item 1 (irrelevant) first.
    # Ranking 0, 1, 2, 3 with relevant 0 and 2: AP = (1/1 + 2/3) / 2.
    # query 1: ranking 3, 2, 1, 0 with relevant 3 only: AP = 1.
    distances = np.array([[0, 1, 1, 5], [9, 4, 2, 0]])
    relevant = np.array([[True, False, True, False], [False, False, False, True]])
    expected = ((1 + 2 / 3) / 2 + 1) / 2
    for as_type in (np.int32, np.float32, np.float64):
        assert mean_average_precision(distances.astype(as_type), relevant) == pytest.approx(expected)
    # distances that are not integers keep their exact order
    assert mean_average_precision(distances + np.array([[0, 0.5, 0.25, 0], [0] * 4]), relevant) == pytest.approx(((1 + 1) / 2 + 1) / 2)
    assert precision_at_k(distances, relevant, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)


def test_tag_bce_only_counts_tagged_photos():
    from engine.training import losses as L

    logits = torch.tensor([[10.0, -10.0], [0.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert float(L.tag_bce_loss(logits, labels, torch.tensor([True, False]))) < 1e-3
    assert float(L.tag_bce_loss(logits, labels, torch.tensor([False, True]))) == pytest.approx(math.log(2), rel=1e-4)


# -- the network ------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [16, 32, 64, 128])
def test_network_shapes_tanh_in_training_sign_when_deployed(bits):
    from engine.models.hashing import HashingConfig, HashingNet

    config = HashingConfig.load(
        overrides={"network": {"dim": 32, "heads": 2}, "components": {"prototypes": True, "label_network": True, "discriminator": True}}
    )
    net = HashingNet(config, in_dim=24, bits=bits, vocabulary=7)
    emb, tokens = torch.randn(5, 24), torch.randn(5, 14, 24)
    tags, mask = torch.randn(5, 3, 24), torch.tensor([[1, 1, 0]] * 4 + [[0, 0, 0]], dtype=torch.bool)
    out = net(emb, tokens, tags, mask, torch.randn(7, 24))
    for name in ("image_code", "text_code", "fused_code"):
        assert out[name].shape == (5, bits)
        assert out[name].abs().max() < 1 and out[name].min() < 0 < out[name].max()
    assert out["pixel_text_logits"].shape == (5, 7) and out["prototypes"].shape == (7, bits)
    net.eval()
    codes = net.image_codes(emb, tokens)
    assert codes.dtype == torch.uint8 and codes.shape == (5, bits) and set(codes.unique().tolist()) <= {0, 1}
    assert torch.equal(codes, (net.image_hash(net.image_feature(emb, tokens)[0]) > 0).to(torch.uint8))
    query = net.text_codes(torch.randn(1, 1, 24), torch.ones(1, 1, dtype=torch.bool))
    assert query.shape == (1, bits)


def test_training_shortcut_for_vocabulary_tags_gives_the_same_text_features():
    from engine.models.hashing import HashingConfig, HashingNet, tag_set_batch_with_index

    torch.manual_seed(0)
    vocabulary = torch.nn.functional.normalize(torch.randn(50, 16), dim=-1)
    net = HashingNet(HashingConfig.load(), in_dim=16, bits=32, vocabulary=50).eval()
    torch.nn.init.normal_(net.tag_identity.weight, std=1.0)  # identities that matter
    net.set_vocabulary(vocabulary)
    tags, mask, index = tag_set_batch_with_index([[3, 7, 9], [12], [], [0, 49]], vocabulary)
    with torch.no_grad():
        general, general_tokens = net.text_feature(tags, mask)
        shortcut, shortcut_tokens = net.text_feature(tags, mask, index)
    assert torch.allclose(general, shortcut, atol=1e-5)
    assert torch.allclose(general_tokens[mask], shortcut_tokens[mask], atol=1e-5)


def test_training_takes_tag_tokens_from_the_scored_vocabulary_without_changing_codes():
    from engine.models.hashing import HashingConfig, HashingNet, tag_set_batch_with_index

    torch.manual_seed(0)
    vocabulary = torch.nn.functional.normalize(torch.randn(40, 16), dim=-1)
    net = HashingNet(HashingConfig.load(overrides={"network": {"dim": 32, "heads": 2}}), in_dim=16, bits=32, vocabulary=40).eval()
    torch.nn.init.normal_(net.tag_identity.weight, std=1.0)
    net.set_vocabulary(vocabulary)
    sets = [[3, 7, 9], [12], [], [0, 39], [7]]
    tags, mask, index = tag_set_batch_with_index(sets, vocabulary)
    columns = torch.tensor([0, 2, 3, 7, 9, 12, 20, 39])  # every tag of the batch plus sampled others
    embedding = torch.randn(len(sets), 16)
    with torch.no_grad():
        sampled = net(embedding, None, tags, mask, vocabulary[columns], index, columns)
        general = net(embedding, None, tags, mask)  # no vocabulary: each tag projected on its own
        deployed_text = net.text_codes(tags, mask)
        deployed_fused = net.fused_codes(embedding, None, tags, mask)
    for name in ("image_code", "text_code", "fused_code"):
        assert torch.allclose(sampled[name], general[name], atol=1e-5), name
    tagged = mask.any(dim=1)
    assert torch.equal((sampled["text_code"][tagged] > 0).to(torch.uint8), deployed_text[tagged])
    assert torch.equal((sampled["fused_code"][tagged] > 0).to(torch.uint8), deployed_fused[tagged])
    # a tag missing from the scored columns falls back to projecting every tag
    with torch.no_grad():
        partial = net(embedding, None, tags, mask, vocabulary[columns[:-1]], index, columns[:-1])
    assert torch.allclose(partial["text_code"], general["text_code"], atol=1e-5)


def test_fusion_over_one_image_token_matches_full_cross_attention():
    from engine.models.hashing import CrossAttentionLayer

    torch.manual_seed(0)
    layer = CrossAttentionLayer(32, 4, 0.0)
    tokens, image = torch.randn(6, 5, 32), torch.randn(6, 1, 32)
    shortcut = layer(tokens, image)
    attended = tokens + layer.cross(layer.norm_query(tokens), image, image, need_weights=False)[0]
    reference = attended + layer.feed_forward(layer.norm_out(attended))
    assert torch.allclose(shortcut, reference, atol=1e-5)
    assert not torch.allclose(shortcut, layer(tokens, torch.randn(6, 1, 32)), atol=1e-3)  # it does use the image


def test_image_branch_over_one_token_matches_the_transformer_encoder():
    from engine.models.hashing import HashingConfig, HashingNet

    torch.manual_seed(0)
    config = HashingConfig.load(overrides={"network": {"dim": 32, "heads": 2, "image_layers": 2}})
    net = HashingNet(config, in_dim=24, bits=16, vocabulary=5)
    embedding = torch.randn(7, 24)
    x = net.image_in(embedding.unsqueeze(1)) + net.scale_embedding[:1]
    for training in (True, False):
        net.train(training)
        assert torch.allclose(net.image_tokens(embedding, None), net.image_encoder(x), atol=1e-5)


def test_training_tag_sets_are_the_photos_own_tags_and_half_are_random_subsets():
    from engine.training.data import TrainingData

    rng = np.random.default_rng(0)
    tag_lists = [sorted(set(rng.integers(0, 40, int(k)).tolist())) for k in rng.integers(0, 20, 400)]
    tag_lists[0], tag_lists[1] = [], [5]
    n = len(tag_lists)
    data = TrainingData(
        [str(i) for i in range(n)],
        np.zeros((n, 4), np.float32),
        None,
        [f"t{j}" for j in range(40)],
        tag_lists,
        np.zeros((40, 4), np.float32),
        np.arange(n),
        np.zeros(0, np.int64),
    )
    indices = np.arange(n)[::-1]
    labels = data.labels(indices)
    for row, i in enumerate(indices):
        assert np.flatnonzero(labels[row]).tolist() == tag_lists[i]
    assert data.has_tags(indices).tolist() == [bool(tag_lists[i]) for i in indices]
    index, mask = data.sample_tag_sets(indices, np.random.default_rng(1), max_tags=12)
    assert mask.shape[1] <= 12 and index.shape == mask.shape
    whole = subsets = 0
    for row, i in enumerate(indices):
        chosen = index[row][mask[row]].tolist()
        assert len(set(chosen)) == len(chosen) and set(chosen) <= set(tag_lists[i])
        assert len(chosen) == min(len(tag_lists[i]), 12) or len(tag_lists[i]) > 1  # only multi-tag photos are cut
        if len(tag_lists[i]) > 1:
            full = chosen == tag_lists[i][:12]
            whole += full
            subsets += not full
    assert not mask[list(indices).index(0)].any()  # an untagged photo has an empty set
    assert index[list(indices).index(1)][mask[list(indices).index(1)]].tolist() == [5]
    assert 0.3 < subsets / (whole + subsets) < 0.6  # about half get a random subset (some draw all their tags)


def test_grouping_photos_by_tag_count_changes_no_output(monkeypatch):
    import engine.models.hashing as hashing
    from engine.models.hashing import HashingConfig, HashingNet, tag_set_batch_with_index

    torch.manual_seed(0)
    vocabulary = torch.nn.functional.normalize(torch.randn(60, 16), dim=-1)
    net = HashingNet(HashingConfig.load(overrides={"network": {"dim": 32, "heads": 2}}), in_dim=16, bits=32, vocabulary=60)
    net.set_vocabulary(vocabulary)
    rng = np.random.default_rng(0)
    sets = [sorted(set(rng.integers(0, 60, k).tolist())) for k in (1, 2, 2, 3, 1, 0, 2, 12, 11, 2, 1, 2)]
    tags, mask, index = tag_set_batch_with_index(sets, vocabulary)
    assert hashing._length_groups(mask.sum(dim=1)) is not None  # this batch is split in two
    embedding = torch.randn(len(sets), 16)
    grouped = net(embedding, None, tags, mask, vocabulary, index)
    monkeypatch.setattr(hashing, "_length_groups", lambda lengths: None)
    single = net(embedding, None, tags, mask, vocabulary, index)
    for name, value in single.items():
        assert torch.allclose(grouped[name], value, atol=1e-5), name


def test_default_epochs_keep_the_step_count_near_the_budget_for_large_libraries():
    from engine.training.budget import default_epochs

    training = {"epochs": 30, "batch_size": 128, "max_steps": 1100, "min_epochs": 3}
    assert default_epochs(300, training) == 30  # a small library gets every pass
    assert default_epochs(4500, training) == 30  # 36 steps a pass: 1,080 steps, under the budget
    assert default_epochs(10000, training) == 14  # 79 steps a pass: 14 passes, 1,106 steps
    assert default_epochs(200000, training) == 3  # never fewer than min_epochs
    assert default_epochs(10000, {**training, "max_steps": 0}) == 30  # no budget


def test_a_large_vocabulary_is_sampled_with_every_tag_of_the_batch(tmp_path):
    from engine.models.hashing import HashingConfig
    from engine.training.data import TrainingData
    from engine.training.trainer import Trainer

    rng = np.random.default_rng(0)
    n, vocabulary = 40, 300
    tag_lists = [sorted(set(rng.integers(0, vocabulary, 4).tolist())) for _ in range(n)]
    data = TrainingData(
        [str(i) for i in range(n)],
        rng.standard_normal((n, 16)).astype(np.float32),
        None,
        [f"t{i}" for i in range(vocabulary)],
        tag_lists,
        rng.standard_normal((vocabulary, 16)).astype(np.float32),
        np.arange(36),
        np.arange(36, 40),
    )
    config = HashingConfig.load(overrides={"network": {"dim": 16, "heads": 2}, "training": {"tag_sample": 64}})
    trainer = Trainer(data, config, 16, tmp_path / "run.safetensors", device="cpu")
    batch = np.arange(8)
    labels = data.labels(batch)
    columns = trainer._vocabulary_columns(labels, np.random.default_rng(1))
    present = set(np.flatnonzero(labels.sum(0)).tolist())
    assert present <= set(columns.tolist()) and len(columns) == 64 and len(set(columns.tolist())) == 64
    loss, terms = trainer._loss(trainer._new_model(), batch, np.random.default_rng(2))
    assert torch.isfinite(loss) and terms["tag_bce"] > 0 and terms["pixel_text"] > 0
    trainer.tag_sample = 1000  # more than the vocabulary: every tag is scored
    assert trainer._vocabulary_columns(labels, np.random.default_rng(1)) is None


def test_keep_levels_set_the_distillation_weight_and_the_default_comes_from_the_config():
    from engine.models.config import KEEP_LEVELS, default_keep, keep_overrides

    mine = {"training": {"seed": 3}}
    merged = keep_overrides("backbone", mine)
    assert merged == {"training": {"seed": 3}, "loss_weights": {"distillation": KEEP_LEVELS["backbone"]}}
    assert mine == {"training": {"seed": 3}}, "the caller's overrides are not changed"
    assert default_keep() == "tags"  # the built-in config's weight
    assert default_keep({"loss_weights": {"distillation": 1.9}}) == "balanced"  # the nearest level
    with pytest.raises(ValueError, match="unknown keep level"):
        keep_overrides("everything")


def test_architecture_comes_from_json(tmp_path):
    from engine.models.hashing import DEFAULT_CONFIG, HashingConfig, HashingNet

    raw = json.loads(DEFAULT_CONFIG.read_text())
    raw["network"]["dim"], raw["network"]["image_layers"] = 48, 3
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(raw))
    net = HashingNet(HashingConfig.load(path), in_dim=16, bits=32, vocabulary=4)
    assert len(net.image_encoder.layers) == 3 and net.image_hash.in_features == 48


# -- training on a library -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tagged_library(tmp_path_factory):
    """60 generated photos in 3 tagged albums, indexed with the tiny backbone (ITQ active)."""
    library = index_albums(tmp_path_factory.mktemp("photos") / "Pictures", tmp_path_factory.mktemp("lib"), 20, 2020)
    yield library
    library.close()


FAST = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 32, "warmup_steps": 2}, "data": {"validation_fraction": 0.2}}


def test_training_registers_an_inactive_model_with_metrics(tagged_library):
    from engine.training.lifecycle import list_models, train_model

    events = []
    model_id = train_model(tagged_library, bits=32, epochs=3, overrides=FAST, progress=events.append)
    models = {m["id"]: m for m in list_models(tagged_library)}
    assert models[model_id]["kind"] == "hashing" and models[model_id]["active"] is False
    assert any(m["active"] and m["kind"] == "itq" for m in models.values())
    assert "image_map" in models[model_id]["metrics"] and models[model_id]["size_bytes"] > 0
    steps = [e for e in events if e.stage == "train"]
    assert steps and all("loss" in e.data and "eta_s" in e.data for e in steps)
    epochs = [e.data for e in events if e.stage == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["loss"] < epochs[0]["loss"], "training must reduce the loss"


def test_checkpoint_round_trip_and_resume_are_exact(tagged_library, tmp_path):
    from engine.jobs import Cancelled, CancelToken
    from engine.models.backbones import Backbone
    from engine.models.hashing import HashingConfig
    from engine.codes.hashing_file import load_model
    from engine.training.data import build_training_data
    from engine.training.trainer import Trainer

    spec = tagged_library.current_backbone()
    config = HashingConfig.load(overrides=FAST)
    data = build_training_data(tagged_library, spec.key, Backbone(spec).encode_texts, config.data)
    straight = Trainer(data, config, 16, tmp_path / "a.safetensors").train(4)
    cancel = CancelToken()

    def stop_after_two_epochs(event):
        if event.stage == "epoch" and event.done == 2:
            cancel.cancel()

    with pytest.raises(Cancelled):  # an interrupted run: the same 4-epoch run, stopped after epoch 2
        Trainer(data, config, 16, tmp_path / "b.safetensors", progress=stop_after_two_epochs, cancel=cancel).train(4)
    resumed = Trainer(data, config, 16, tmp_path / "b.safetensors").train(4, resume=True)
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name
    loaded, metadata, _ = load_model(tmp_path / "a.safetensors")
    emb, tok = torch.from_numpy(data.embeddings), torch.from_numpy(data.tokens)
    assert torch.equal(loaded.image_codes(emb, tok), straight.model.eval().image_codes(emb, tok))
    assert metadata["epochs_done"] == 4 and metadata["vocabulary"] == data.vocabulary


def test_cancelled_training_leaves_the_active_model_searchable(tagged_library):
    from engine.jobs import Cancelled, CancelToken
    from engine.training.lifecycle import list_models, train_model

    before = list_models(tagged_library)
    ranking = [r.path for r in tagged_library.searcher().search(text="beach", limit=0)]
    cancel = CancelToken()

    def stop_soon(event):
        if event.stage == "train" and event.done >= 2:
            cancel.cancel()

    with pytest.raises(Cancelled):
        train_model(tagged_library, bits=16, epochs=5, overrides=FAST, progress=stop_soon, cancel=cancel)
    assert list_models(tagged_library) == before
    assert [r.path for r in tagged_library.searcher().search(text="beach", limit=0)] == ranking


def test_activation_switches_only_when_every_photo_has_its_new_code(tagged_library):
    from engine.jobs import Cancelled, CancelToken
    from engine.training.lifecycle import activate_model, list_models, remove_model, train_model
    from engine.training.errors import ModelError

    model_id = train_model(tagged_library, bits=64, epochs=2, overrides={**FAST, "training": {**FAST["training"], "database_codes": "fused"}})
    old = next(m for m in list_models(tagged_library) if m["active"])
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        activate_model(tagged_library, model_id, cancel=cancel)
    assert next(m for m in list_models(tagged_library) if m["active"])["id"] == old["id"]
    activate_model(tagged_library, model_id)
    assert next(m for m in list_models(tagged_library) if m["active"])["id"] == model_id
    searcher = tagged_library.searcher()
    assert len(searcher) == 60 and searcher.bits == 64
    photo = searcher.paths[0]
    assert searcher.search(image=photo, limit=1)[0].distance == 0
    with pytest.raises(ModelError, match="active model"):
        remove_model(tagged_library, model_id)
    remove_model(tagged_library, old["id"])
    assert old["id"] not in [m["id"] for m in list_models(tagged_library)]


def test_no_tagged_photos_is_a_clear_error(library, tmp_path, tiny_spec):
    from engine.training.errors import TrainingDataError
    from engine.training.lifecycle import train_model

    for i in range(5):
        make_photo(tmp_path / "DCIM" / f"IMG_{i:04d}.jpg", i)
    library.index([tmp_path / "DCIM"], backbone=tiny_spec)
    with pytest.raises(TrainingDataError, match="have tags"):
        train_model(library, bits=16, epochs=1)


@pytest.mark.slow
def test_training_on_scenes_beats_the_untrained_codes(library, standin_spec):
    """A short real training on ~700 scenes photos with the stand-in CLIP: text queries get better."""
    if not SCENES.is_dir():
        pytest.skip("scenes benchmark not found")
    from engine.training.lifecycle import activate_model, train_model
    from engine.training.metrics import mean_average_precision

    gt = json.loads((SCENES / "ground_truth.json").read_text(encoding="utf-8"))
    albums = sorted({im["album"] for im in gt["images"]})[::8]
    # Codes alone (no photo text: tests/library/test_ocr.py covers it, and it would cost most of a minute here).
    library.index([SCENES / a for a in albums], backbone=standin_spec, ocr=False)
    by_path = {str(SCENES / im["path"]): im for im in gt["images"]}
    concept = {c["id"]: c["index"] for c in gt["concepts"]}

    def text_map() -> float:
        searcher = library.searcher()
        labels = np.array([by_path[p]["label_vector"] for p in searcher.paths], dtype=bool)
        row_of = {p: i for i, p in enumerate(searcher.paths)}
        dist, rel = [], []
        for query in gt["text_queries"]:
            wanted = np.zeros(labels.shape[1], dtype=bool)
            wanted[[concept[c] for c in query["concepts"]]] = True
            ranking = searcher.search(text=query["text"], limit=0)
            d = np.empty(len(ranking))
            for r in ranking:
                d[row_of[r.path]] = r.distance
            dist.append(d)
            rel.append((labels & wanted).any(axis=1))
        return mean_average_precision(np.array(dist), np.array(rel))

    before = text_map()
    model_id = train_model(library, bits=64, epochs=15, overrides={"training": {"database_codes": "fused"}})
    activate_model(library, model_id)
    after = text_map()
    print(f"text→image mAP on {len(library.searcher())} scenes photos: untrained {before:.4f}, trained {after:.4f}")
    assert after > before + 0.03
