"""Tag co-occurrence expansion, target codes from tags, and query expansion for outside photos."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import index_albums, make_photo


# -- co-occurrence expansion, on a hand-computed case ------------------------------------------


def test_tags_that_keep_the_same_company_become_similar():
    from engine.training import losses as L

    # vocabulary: birds, owl, penguin, car
    labels = torch.tensor(
        [
            [1.0, 1, 0, 0],  # "2019 birds" album: an owl
            [1.0, 0, 1, 0],  # "2019 birds" album: a penguin
            [0.0, 1, 0, 0],  # Camera Roll: an owl
            [0.0, 0, 1, 0],  # Camera Roll: a penguin
            [0.0, 0, 0, 1],  # Camera Roll: a car
        ]
    )
    co = L.tag_cooccurrence(labels)
    assert float(co[0, 1]) == pytest.approx(0.5)  # birds and owl share 1 of 2 photos each
    assert float(co[1, 2]) == 0.0 and float(co[3, 3]) == pytest.approx(1.0)
    assert float(L.tag_similarity(labels)[2, 3]) == 0.0  # "owl" and "penguin" share no tag
    expanded = L.expand_tags(labels, co, strength=1.0)
    sim = L.tag_similarity(expanded)
    # owl → [0.5, 2, 0, 0], penguin → [0.5, 0, 2, 0]: cosine 0.25 / 4.25
    assert float(sim[2, 3]) == pytest.approx(0.25 / 4.25, rel=1e-5)
    assert float(sim[2, 4]) == 0.0  # the car keeps no company with birds
    assert torch.equal(L.expand_tags(labels, co, 0.0), labels)


def test_a_second_co_occurrence_step_links_tags_two_albums_apart():
    from engine.training import losses as L

    # vocabulary: kestrel, "birds", "wildlife", puffin. The kestrel was filed under "birds",
    # the puffin under "wildlife", and one other photo carries both album words.
    labels = torch.tensor(
        [
            [1.0, 1, 0, 0],  # a kestrel in "birds"
            [0.0, 1, 1, 0],  # a photo tagged with both album words
            [0.0, 0, 1, 1],  # a puffin in "wildlife"
            [1.0, 0, 0, 0],  # a kestrel, no album
            [0.0, 0, 0, 1],  # a puffin, no album
        ]
    )
    co = L.tag_cooccurrence(labels)
    one_step = L.tag_similarity(L.expand_tags(labels, L.expansion_matrix(co, 3.0), 1.0))
    two_steps = L.tag_similarity(L.expand_tags(labels, L.expansion_matrix(co, 3.0, 10.0), 1.0))
    # kestrel → birds, puffin → wildlife: one step leaves the lone kestrel and puffin apart
    assert float(one_step[3, 4]) == 0.0
    assert float(two_steps[3, 4]) > 0.1
    assert torch.allclose(L.expansion_matrix(co, 3.0), 3.0 * co)


def _two_subjects(n: int = 240, seed: int = 0):
    """Photos of two subjects: two keywords from the subject's ten, the subject's album tag 65% of the time."""
    rng = np.random.default_rng(seed)
    vocabulary = 22  # 0: album A, 1: album B, 2-11: A's keywords, 12-21: B's keywords
    labels = np.zeros((n, vocabulary), np.float32)
    subject = np.arange(n) % 2
    for i in range(n):
        labels[i, 2 + 10 * subject[i] + rng.choice(10, 2, replace=False)] = 1
        if rng.random() < 0.65:
            labels[i, subject[i]] = 1
    labels[-4:] = 0  # a few photos without tags
    return labels, subject


def _target_codes(labels: np.ndarray, bits: int, strength: float = 3.0) -> np.ndarray:
    from engine.training import losses as L
    from engine.training.targets import semantic_target_codes

    co = L.tag_cooccurrence(torch.from_numpy(labels))
    return semantic_target_codes(lambda rows: labels[rows], range(len(labels)), len(labels), labels.shape[1], co, strength, bits)


def test_target_codes_bring_photos_of_one_subject_together_even_without_a_shared_tag():
    labels, subject = _two_subjects()
    codes = _target_codes(labels, bits=16)
    tagged = labels.sum(1) > 0
    assert not codes[~tagged].any(), "photos without tags get no target"
    assert set(np.unique(codes[tagged])) == {-1, 1}
    distance = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    no_shared_tag = (labels @ labels.T) == 0
    pairs = no_shared_tag & tagged[:, None] & tagged[None, :]
    same = pairs & (subject[:, None] == subject[None, :])
    other = pairs & (subject[:, None] != subject[None, :])
    assert same.sum() > 100 and other.sum() > 100
    # without expansion these pairs look equally unrelated; with it, one subject is near
    assert distance[same].mean() + 4 < distance[other].mean()
    plain = _target_codes(labels, bits=16, strength=0.0)
    plain_distance = (plain[:, None, :] != plain[None, :, :]).sum(-1)
    assert distance[other].mean() - distance[same].mean() > plain_distance[other].mean() - plain_distance[same].mean()


def test_target_codes_do_not_depend_on_the_chunk_size(monkeypatch):
    from engine.training import targets

    labels, _ = _two_subjects(n=50)
    whole = _target_codes(labels, bits=32)
    monkeypatch.setattr(targets, "CHUNK", 7)
    assert np.array_equal(_target_codes(labels, bits=32), whole)


def test_code_target_loss_counts_only_photos_with_a_target():
    from engine.training.targets import code_target_loss

    targets = torch.tensor([[1.0, -1.0], [0.0, 0.0]])
    assert float(code_target_loss(torch.tensor([[1.0, -1.0], [0.3, 0.3]]), targets)) == 0.0
    assert float(code_target_loss(torch.tensor([[0.0, -1.0], [5.0, 5.0]]), targets)) == pytest.approx(0.5)
    assert float(code_target_loss(torch.zeros(2, 2), torch.zeros(2, 2))) == 0.0


# -- query expansion ---------------------------------------------------------------------------


def test_majority_code_votes_each_bit_and_the_query_breaks_ties():
    from engine.search.expansion import majority_code

    neighbours = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 1]])
    assert majority_code(np.array([0, 0, 0, 0]), neighbours).tolist() == [1, 0, 0, 0]
    assert majority_code(np.array([1, 1, 1, 1]), neighbours).tolist() == [1, 1, 1, 1]
    assert majority_code(np.array([0, 1, 0, 1]), neighbours[:1]).tolist() == [1, 1, 0, 0]


def test_search_and_benchmark_expand_a_query_the_same_way():
    from engine.search.expansion import expand_bits, expand_packed
    from engine.search.hamming import HammingIndex
    from engine.codes.bits import pack_bits, unpack_bits

    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, (500, 64)).astype(np.uint8)
    bits[100:140] = bits[100] ^ (rng.random((40, 64)) < 0.05)  # a cluster, with ties at the cut
    index = HammingIndex(np.arange(500, dtype=np.int64) * 3, pack_bits(bits), 64)
    for row in (100, 7):
        query = bits[row] ^ (rng.random(64) < 0.2).astype(np.uint8)
        via_index = unpack_bits(expand_packed(index, pack_bits(query), 20), 64)
        assert np.array_equal(via_index, expand_bits(query, bits, 20)[0])
    assert np.array_equal(expand_packed(index, pack_bits(bits[5]), 0), pack_bits(bits[5]))


@pytest.fixture(scope="module")
def fused_library(tmp_path_factory):
    """Three tagged albums with a trained, active model that codes library photos from pixels and tags."""
    from engine.training.lifecycle import activate_model, train_model

    library = index_albums(tmp_path_factory.mktemp("photos") / "Pictures", tmp_path_factory.mktemp("lib"), 16, 2021)
    fast = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 32, "warmup_steps": 2, "database_codes": "fused"}}
    activate_model(library, train_model(library, bits=32, epochs=4, overrides=fast))
    yield library
    library.close()


def test_outside_photo_queries_are_expanded_and_library_photos_still_find_themselves(fused_library, tmp_path):
    from engine.library.scanner import content_hash
    from engine.search.expansion import expand_packed
    from engine.search.searcher import Searcher

    searcher = Searcher(fused_library)
    assert searcher.code_model.needs_tags
    inside = next(iter(searcher.paths[i] for i in range(len(searcher))))
    hit = searcher.search(image=inside, limit=1)[0]
    assert hit.path == inside and hit.distance == 0  # a library photo keeps its own stored code

    outside = make_photo(tmp_path / "from a friend.jpg", 5003)  # a seed no album uses: not in the library
    assert searcher.stored_code(content_hash(outside)) is None
    searcher.image_query_expansion = 0
    raw = searcher.query_code(image=str(outside))
    searcher.image_query_expansion = 20
    expanded = searcher.query_code(image=str(outside))
    assert np.array_equal(expanded, expand_packed(searcher.index, raw, 20))
    assert not np.array_equal(expanded, raw)  # the vote changed the query
    results = searcher.search(image=str(outside), limit=10)
    assert len(results) == 10 and results[0].distance <= searcher.bits // 4


def test_an_outside_photo_is_coded_from_the_mean_of_its_twelve_views_once_per_photo(fused_library, tmp_path, monkeypatch):
    from engine.pixels.decode import load_rgb
    from engine.models.views import encode_photo_views
    from engine.codes.bits import unpack_bits
    from engine.search.searcher import Searcher

    searcher = Searcher(fused_library)
    searcher.image_query_expansion = 0
    outside = make_photo(tmp_path / "holiday.jpg", 5004, size=(200, 150))
    embeddings, tokens = encode_photo_views(searcher.backbone, outside)
    assert embeddings.shape[0] == 12
    values = searcher.code_model.project_images(embeddings, tokens)
    expected = (values.mean(axis=0) > 0).astype(np.uint8)

    calls = []
    encode = searcher.backbone.encode_images_with_tokens
    monkeypatch.setattr(searcher.backbone, "encode_images_with_tokens", lambda batch: calls.append(len(batch)) or encode(batch))
    code = unpack_bits(searcher.query_code(image=str(outside))[None, :], searcher.bits)[0]
    assert np.array_equal(code, expected)
    searcher.search(image=str(outside), limit=5)
    searcher.search(image=str(outside), limit=5, radius=searcher.bits // 2)
    assert calls == [12]  # one batch of twelve views; re-running the query (other filters) reuses it

    searcher.image_query_views = 1  # the photo alone: the single-view code indexing would give it
    single = unpack_bits(searcher.query_code(image=str(outside))[None, :], searcher.bits)[0]
    e1, t1 = encode(searcher.backbone.preprocess(load_rgb(str(outside), searcher.backbone.image_size)).unsqueeze(0))
    assert np.array_equal(single, searcher.code_model.encode_images(e1, t1)[0])
    assert calls == [12, 1]


def test_photo_views_are_the_photo_its_corners_and_centre_each_with_its_mirror():
    from PIL import Image

    from engine.models.views import decode_size, photo_views

    rng = np.random.default_rng(3)
    photo = Image.fromarray(rng.integers(0, 256, (80, 100, 3), dtype=np.uint8))  # 100 × 80, landscape
    views = photo_views(photo)
    assert len(views) == 12
    pixels = [np.asarray(v) for v in views]
    assert np.array_equal(pixels[0], np.asarray(photo))
    for upright, mirrored in zip(pixels[::2], pixels[1::2]):
        assert np.array_equal(mirrored, upright[:, ::-1])
    full = np.asarray(photo)
    crops = pixels[2::2]
    assert all(c.shape == (72, 90, 3) for c in crops)  # 90% of each side: the landscape shape is kept
    assert np.array_equal(crops[0], full[:72, :90]) and np.array_equal(crops[1], full[:72, 10:])
    assert np.array_equal(crops[2], full[8:, :90]) and np.array_equal(crops[3], full[8:, 10:])
    assert np.array_equal(crops[4], full[4:76, 5:95])
    assert [len(photo_views(photo, n)) for n in (1, 2, 7)] == [1, 2, 7]
    assert photo_views(photo, 1)[0] is photo
    with pytest.raises(ValueError):
        photo_views(photo, 13)
    assert decode_size(224) == 249 and decode_size(224, count=2) == 224  # crops still fill the input
