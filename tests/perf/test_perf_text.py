"""Text queries: the trimmed text tower gives the same codes, repeated queries hit a cache."""

from __future__ import annotations

import numpy as np
import pytest

from engine.models.projection import fit_itq

QUERIES = [
    "a photo of a dog",
    "a photo of sunset over the sea",
    "a photo of x",
    "a photo of my grandmother's red bicycle leaning on a stone wall in the rain",
    "a photo of " + "mountains and lakes " * 30,  # longer than the context: nothing to trim
    "a photo of été à Paris",
    "",
]


@pytest.fixture(scope="module", params=["tiny", "standin"])
def backbone(request):
    from engine.models.backbones import Backbone

    spec = request.getfixturevalue("tiny_spec" if request.param == "tiny" else "standin_spec")
    return Backbone(spec, device="cpu")


def _lengths_seen(backbone):
    """Record the sequence length every text-tower pass runs on."""
    seen: list[int] = []
    handle = backbone.model.transformer.register_forward_pre_hook(lambda _m, args, kwargs: seen.append(int(args[0].shape[1])), with_kwargs=True)
    return seen, handle


def test_trimmed_text_codes_equal_untrimmed(backbone):
    rng = np.random.default_rng(3)
    # A 128-bit ITQ projection fitted on unrelated vectors: any fixed hash head will do.
    itq = fit_itq(rng.normal(size=(400, backbone.embed_dim)).astype(np.float32), bits=128)
    words = [f"a photo of {w}" for w in ("cat", "beach", "snowy mountain", "birthday cake", "old car", "bridge at night")]
    texts = QUERIES + words
    seen, handle = _lengths_seen(backbone)
    try:
        full = backbone.encode_texts(texts, trim=False)
        assert seen == [backbone.model.context_length]
        seen.clear()
        one_by_one = np.concatenate([backbone.encode_texts([t], cache=False) for t in texts])
        batch = backbone.encode_texts(texts[:4])
    finally:
        handle.remove()
    # The work really was cut: a short query runs on a handful of positions, not 77.
    assert seen[0] < 10 and max(seen) == backbone.model.context_length  # the long one cannot be cut
    assert np.array_equal(itq.encode(full), itq.encode(one_by_one))
    assert np.array_equal(itq.encode(full[:4]), itq.encode(batch))
    np.testing.assert_allclose(full, one_by_one, atol=1e-5)


def test_repeated_query_is_answered_from_the_cache(backbone):
    seen, handle = _lengths_seen(backbone)
    try:
        first = backbone.encode_texts(["a photo of a lighthouse"])
        again = backbone.encode_texts(["a photo of a lighthouse"])
        other = backbone.encode_texts(["a photo of a harbour"])
    finally:
        handle.remove()
    assert len(seen) == 2  # the repeat ran no text tower
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    again[0, 0] = 99.0  # a caller scribbling on its result does not poison the cache
    assert backbone.encode_texts(["a photo of a lighthouse"])[0, 0] == first[0, 0]


def test_a_query_leaves_the_callers_thread_count_alone(backbone):
    import torch

    before = torch.get_num_threads()
    backbone.encode_texts(["a photo of a kite"], cache=False)
    backbone.encode_texts(["a photo of a kite", "a photo of a tram"])
    assert torch.get_num_threads() == before
