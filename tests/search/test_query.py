"""The search language: parsing (with positions in errors) and arithmetic on real-valued outputs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.codes.bits import unpack_bits
from engine.search.query import QueryError, parse_query
from engine.search.searcher import QuerySyntaxError, SearchError


def terms(query: str) -> list[tuple[str, str, float]]:
    return [(t.kind, t.value, t.weight) for t in parse_query(query).terms]


def test_plain_words_stay_one_phrase():
    assert terms("dog on the beach") == [("text", "dog on the beach", 1.0)]
    assert terms("t-shirt on a c++ book") == [("text", "t-shirt on a c++ book", 1.0)]
    assert parse_query("dog on the beach").is_plain


def test_operators_quotes_weights_and_images():
    assert terms("beach +sunset -people") == [("text", "beach", 1.0), ("text", "sunset", 1.0), ("text", "people", -1.0)]
    assert terms("dog on the beach +sunset glow - people in the back") == [
        ("text", "dog on the beach", 1.0),
        ("text", "sunset glow", 1.0),
        ("text", "people in the back", -1.0),
    ]
    assert terms('"red car" -"parking lot"') == [("text", "red car", 1.0), ("text", "parking lot", -1.0)]
    assert terms('sunset:0.5 beach "red car":2') == [("text", "sunset", 0.5), ("text", "beach", 1.0), ("text", "red car", 2.0)]
    assert terms('img:"/x/My Photos/a.jpg":0.3 +snow -img:/b.png') == [("image", "/x/My Photos/a.jpg", 0.3), ("text", "snow", 1.0), ("image", "/b.png", -1.0)]
    assert not parse_query("sunset:0.5").is_plain


@pytest.mark.parametrize(
    ("query", "column", "words"),
    [
        ('beach "open', 6, "never closed"),
        ("beach -", 6, "needs a term after it"),
        ("beach + -x", 8, "follows another operator"),
        ("sunset:0 beach", 7, "positive"),
        ("sunset:1.2.3", 7, "not a number"),
        ("-people", 0, "not only what to leave out"),
        ("beach img:", 6, "needs a photo path"),
        ('""', 0, "empty quoted phrase"),
        ("   ", 0, "empty"),
        ('"a"b', 3, "space after a closing quote"),
    ],
)
def test_errors_say_what_and_where(query, column, words):
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.position == column
    assert words in caught.value.message
    assert f"column {column + 1}" in str(caught.value)
    assert caught.value.pointer().splitlines()[1] == " " * column + "^"


@pytest.fixture
def indexed(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    return library, library.searcher(), photo_tree


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def code_bits(searcher, query: str) -> np.ndarray:
    return unpack_bits(searcher.query_code(query), searcher.bits)


def test_plain_query_is_coded_as_before(indexed):
    _, searcher, photos = indexed
    embedding = searcher.text_embedding("a red car")
    assert np.array_equal(code_bits(searcher, "a red car"), searcher.code_model.encode_texts(embedding[None])[0])
    # the real-valued output is what the bits are the sign of
    values = searcher.code_model.project_texts(embedding[None])[0]
    assert np.array_equal(values > 0, code_bits(searcher, "a red car").astype(bool))


def test_arithmetic_adds_real_outputs_before_the_sign(indexed):
    _, searcher, _ = indexed
    p = {w: searcher.code_model.project_texts(searcher.text_embedding(w)[None])[0].astype(np.float64) for w in ("beach", "sunset", "people")}
    expected = unit(p["beach"]) + 0.5 * unit(p["sunset"]) - unit(p["people"])
    assert np.array_equal(code_bits(searcher, "beach +sunset:0.5 -people"), (expected > 0).astype(np.uint8))
    # not the same as voting on the terms' bits: a taken-away term flips only bits where it dominates
    assert not np.array_equal(code_bits(searcher, "beach -people"), code_bits(searcher, "beach"))


def test_image_terms_pull_and_push(indexed):
    _, searcher, photos = indexed
    a = photos / "2019-07 beach holiday" / "sunset_dog.jpg"
    b = photos / "Camera Roll" / "IMG_0002.png"
    bits_a, bits_b = code_bits(searcher, f'img:"{a}"'), code_bits(searcher, f'img:"{b}"')

    def dist(x, y):
        return int(np.sum(x != y))

    towards_a = code_bits(searcher, f'img:"{a}":4 +img:"{b}"')
    towards_b = code_bits(searcher, f'img:"{a}" +img:"{b}":4')
    assert dist(towards_a, bits_a) < dist(towards_b, bits_a)
    assert dist(towards_b, bits_b) < dist(towards_a, bits_b)
    # taking b away moves the code away from b, past where a alone is
    away = code_bits(searcher, f'img:"{a}" -img:"{b}"')
    assert dist(away, bits_b) > dist(bits_a, bits_b)
    # both photos rank first for their equal mix
    both = searcher.rank(searcher.query_code(f'img:"{a}" +img:"{b}"'), limit=2)
    assert {r.path for r in both} == {str(a), str(b)}


def test_image_argument_joins_the_text_terms(indexed):
    _, searcher, photos = indexed
    a = photos / "Camera Roll" / "IMG_0002.png"
    assert np.array_equal(searcher.query_code("red car", image=str(a)), searcher.query_code(f'red car +img:"{a}"'))


def test_bad_queries_are_search_errors(indexed, tmp_path):
    _, searcher, _ = indexed
    with pytest.raises(QuerySyntaxError) as caught:
        searcher.search(text="beach -")
    assert caught.value.position == 6
    with pytest.raises(SearchError, match="not found"):
        searcher.search(text=f"beach +img:{tmp_path / 'nope.jpg'}")


def test_cli_reports_the_column(tmp_path, photo_tree):
    from cli.test_cli import bitlens

    lib = tmp_path / "lib"
    bitlens(lib, "index", str(photo_tree), "--backbone", "tiny")
    result = bitlens(lib, "search", "beach +", check=False)
    assert result.returncode == 1
    assert "needs a term after it (at column 7)" in result.stderr
    ok = bitlens(lib, "search", "beach -people sunset:0.5", "--json")
    assert ok.returncode == 0


def test_trained_network_exposes_its_pre_sign_outputs():
    """Query arithmetic on a trained model adds the hash heads' outputs; their signs are the deployed codes."""
    torch = pytest.importorskip("torch")
    from engine.models.hashing import HashingConfig, HashingNet
    from engine.codes.hashing_file import HashingCodes

    torch.manual_seed(0)
    net = HashingNet(HashingConfig.load(overrides={"network": {"dim": 32, "heads": 2}}), in_dim=24, bits=32, vocabulary=5)
    codes = HashingCodes(net)
    rng = np.random.default_rng(0)
    images, tokens, texts = rng.standard_normal((6, 24)), rng.standard_normal((6, 14, 24)), rng.standard_normal((4, 24))
    for values, bits in (
        (codes.project_images(images, tokens), codes.encode_images(images, tokens)),
        (codes.project_images(images), codes.encode_images(images)),
        (codes.project_texts(texts), codes.encode_texts(texts)),
    ):
        assert values.dtype == np.float32 and values.shape == bits.shape
        assert np.array_equal(values > 0, bits.astype(bool))
        assert len(np.unique(np.abs(values).round(4))) > values.size // 2  # real values, not bits
