"""Attention extraction, per-layer statistics, layer maps and student-teacher head matching."""

import threading
import time

import numpy as np
import pytest
import torch
from transformers import AutoModelForMaskedLM, BertConfig, BertForMaskedLM, BertTokenizerFast, DistilBertTokenizerFast

from distilbert_demo import inputs, layer_map
from distilbert_demo.attention import core as attention
from distilbert_demo.attention.core import AttentionMaps
from distilbert_demo.distill import student
from distilbert_demo.inputs import InputError
from distilbert_demo.loading import LoadedModel, load_model
from tests.conftest import WORDS, tiny_vocab

TEXT = "The capital of France is [MASK] and the food was delicious."
SENTENCE = "the famous director poured coffee for the nurse and the doctor in the hotel room at night ."
TOKENS = ["[CLS]", "a", "b", "[SEP]"]


@pytest.fixture(scope="module")
def mlm(tiny_models) -> dict[str, LoadedModel]:
    return {
        side: load_model("fill-mask", side, tiny_models[f"fill-mask-{side}"], allow_twin=False)
        for side in ("bert", "distilbert")
    }


def hand_maps(*heads: np.ndarray, tokens=TOKENS) -> AttentionMaps:
    """One layer per argument; each argument is (H, T, T) or (T, T) for one head."""
    layers = [np.asarray(h, dtype=np.float32).reshape(-1, len(tokens), len(tokens)) for h in heads]
    return AttentionMaps("hand", list(tokens), np.stack(layers))  # (L, H, T, T)


# ---------------------------------------------------------------------------------------------
# Extraction


@pytest.mark.parametrize("side", ["bert", "distilbert"])
def test_extract_equals_the_models_own_eager_attentions(mlm, tiny_models, side):
    loaded = mlm[side]
    maps = attention.extract(loaded, TEXT)

    reference = AutoModelForMaskedLM.from_pretrained(tiny_models[f"fill-mask-{side}"], attn_implementation="eager")
    prepared = inputs.prepare(TEXT, "fill-mask", loaded.tokenizer, loaded.device)
    with torch.inference_mode():
        expected = torch.stack(reference.eval()(**prepared.model_inputs(), output_attentions=True).attentions)[:, 0]

    L, H, T = loaded.layers, loaded.model.config.num_attention_heads, prepared.num_tokens
    assert maps.attentions.shape == expected.shape == (L, H, T, T)
    assert (maps.layers, maps.heads) == (L, H)
    assert maps.attentions.dtype == np.float32
    np.testing.assert_allclose(maps.attentions, expected.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(maps.attentions.sum(-1), 1.0, atol=1e-5)
    assert maps.tokens == loaded.tokenizer.convert_ids_to_tokens(prepared.input_ids[0].tolist())
    assert "[MASK]" in maps.tokens and maps.tokens[0] == "[CLS]" and maps.tokens[-1] == "[SEP]"
    assert maps.name == {"bert": "BERT", "distilbert": "DistilBERT"}[side]


@pytest.mark.parametrize("side", ["bert", "distilbert"])
def test_extract_restores_the_attention_implementation(mlm, side):
    model = mlm[side].model
    before = model.config._attn_implementation
    assert before == "sdpa"  # the default, which returns no attention weights
    attention.extract(mlm[side], TEXT)
    assert model.config._attn_implementation == before
    ids = mlm[side].tokenizer("a b", return_tensors="pt")
    with torch.inference_mode():
        assert not model(**ids, output_attentions=True).attentions  # really back on sdpa, not just the label


def test_extract_needs_no_mask_and_spells_masks_like_fill_mask(mlm):
    loaded = mlm["bert"]
    assert "[MASK]" not in attention.extract(loaded, "the dog was happy").tokens
    assert attention.extract(loaded, "the [mask] was happy").tokens.count("[MASK]") == 1
    # sentiment leaves the text alone
    assert attention.extract(loaded, "the dog was happy", task="sentiment").tokens[1:-1] == [
        "the",
        "dog",
        "was",
        "happy",
    ]


@pytest.mark.parametrize("text", ["", "   ", None, "x" * (inputs.MAX_CHARS + 1)])
def test_extract_refuses_what_the_comparison_refuses(mlm, text):
    with pytest.raises(InputError):
        attention.extract(mlm["bert"], text)


def test_extract_truncates_to_512_tokens(mlm):
    text = " ".join(WORDS[i % 60] for i in range(600))
    maps = attention.extract(mlm["distilbert"], text)
    assert len(maps.tokens) == inputs.MAX_TOKENS == 512
    assert maps.attentions.shape[-2:] == (512, 512)
    assert maps.tokens[-1] == "[SEP]"
    assert maps.notices and "only the first 512" in maps.notices[0]


def test_concurrent_extractions_agree(mlm):
    loaded = mlm["bert"]
    expected = attention.extract(loaded, TEXT).attentions
    results, errors = [], []

    def work():
        try:
            results.append(attention.extract(loaded, TEXT).attentions)
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 6
    for got in results:
        np.testing.assert_array_equal(got, expected)
    assert loaded.model.config._attn_implementation == "sdpa"


# ---------------------------------------------------------------------------------------------
# Per-layer statistics on hand-made maps (T = 4: [CLS] a b [SEP])

ON_CLS = np.tile([1.0, 0, 0, 0], (4, 1))
UNIFORM = np.full((4, 4), 0.25)
IDENTITY = np.eye(4)
PREVIOUS = np.eye(4, k=-1) + np.eye(4, k=1) * (np.arange(4) == 0)[:, None]  # row 0 has no previous: it looks right


def test_summarise_hand_computed():
    frame = attention.summarise(hand_maps(ON_CLS, UNIFORM, IDENTITY, PREVIOUS))
    assert list(frame.columns) == [
        "layer",
        "entropy",
        "to_cls",
        "to_sep",
        "to_self",
        "to_prev",
        "to_next",
        "mean_distance",
    ]
    expected = {
        # entropy, to_cls, to_sep, to_self, to_prev, to_next, mean_distance
        0: (0.0, 1.0, 0.0, 0.25, 1 / 3, 0.0, (0 + 1 + 2 + 3) / 4),
        1: (2.0, 0.25, 0.25, 0.25, 0.25, 0.25, (1.5 + 1 + 1 + 1.5) / 4),
        2: (0.0, 0.25, 0.25, 1.0, 0.0, 0.0, 0.0),
        3: (0.0, 1 / 4, 0.0, 0.0, 1.0, 1 / 3, 1.0),
    }
    assert frame["layer"].tolist() == [0, 1, 2, 3]
    for layer, values in expected.items():
        got = frame.loc[layer, ["entropy", "to_cls", "to_sep", "to_self", "to_prev", "to_next", "mean_distance"]]
        np.testing.assert_allclose(got.to_numpy(dtype=float), values, atol=1e-6, err_msg=f"layer {layer}")


def test_summarise_averages_over_heads_and_uses_bits():
    frame = attention.summarise(hand_maps(np.stack([IDENTITY, UNIFORM])))
    assert frame.loc[0, "entropy"] == pytest.approx((0 + 2) / 2)
    assert frame.loc[0, "to_self"] == pytest.approx((1 + 0.25) / 2)
    eight = np.full((8, 8), 1 / 8)
    assert attention.summarise(hand_maps(eight, tokens=list("abcdefgh"))).loc[0, "entropy"] == pytest.approx(3.0)


def test_summaries_frame_stacks_both_models():
    bert = hand_maps(ON_CLS, UNIFORM, IDENTITY, PREVIOUS)
    distil = AttentionMaps("DistilBERT", TOKENS, bert.attentions[:2])
    bert.name = "BERT"
    frame = attention.summaries_frame(bert, distil)
    assert frame.columns[0] == "model" and len(frame) == 6
    assert frame["model"].tolist() == ["BERT"] * 4 + ["DistilBERT"] * 2
    assert frame["layer"].tolist() == [0, 1, 2, 3, 0, 1]


# ---------------------------------------------------------------------------------------------
# Head divergence


def naive_js(student_maps: AttentionMaps, teacher_maps: AttentionMaps) -> np.ndarray:
    def kl(p, m):
        with np.errstate(divide="ignore", invalid="ignore"):  # the p = 0 branch is discarded anyway
            return np.where(p > 0, p * np.log2(p / m), 0.0).sum(-1)

    s, t = student_maps.attentions.astype(np.float64), teacher_maps.attentions.astype(np.float64)
    out = np.zeros(s.shape[:2] + t.shape[:2])
    for index in np.ndindex(out.shape):
        p, q = s[index[:2]], t[index[2:]]
        m = (p + q) / 2
        out[index] = (kl(p, m) / 2 + kl(q, m) / 2).mean()
    return out


def test_head_divergence_hand_made():
    one_hot_a, one_hot_b = np.tile([1.0, 0, 0, 0], (4, 1)), np.tile([0, 1.0, 0, 0], (4, 1))
    div = attention.head_divergence(hand_maps(one_hot_a), hand_maps(np.stack([one_hot_a, one_hot_b, UNIFORM])))
    assert div.shape == (1, 1, 1, 3)
    assert div[0, 0, 0, 0] == pytest.approx(0.0, abs=1e-6)  # identical heads
    assert div[0, 0, 0, 1] == pytest.approx(1.0, abs=1e-6)  # disjoint one-hot rows: the maximum, 1 bit
    # one-hot vs uniform over 4: H(m) - (H(p) + H(q)) / 2 with m = (5/8, 1/8, 1/8, 1/8)
    h_m = -(5 / 8 * np.log2(5 / 8) + 3 / 8 * np.log2(1 / 8))
    assert div[0, 0, 0, 2] == pytest.approx(h_m - (0 + 2) / 2, abs=1e-6)


def test_head_divergence_equals_the_definition_on_random_maps():
    rng = np.random.default_rng(0)

    def random_maps(L, H, T):
        a = np.exp(3 * rng.normal(size=(L, H, T, T)))
        a[..., 0] = 0  # exact zeros must give 0 log 0 = 0, not nan
        return AttentionMaps("r", [str(i) for i in range(T)], (a / a.sum(-1, keepdims=True)).astype(np.float32))

    s, t = random_maps(2, 3, 7), random_maps(3, 2, 7)
    div = attention.head_divergence(s, t)
    assert div.shape == (2, 3, 3, 2)
    np.testing.assert_allclose(div, naive_js(s, t), atol=1e-6)
    np.testing.assert_allclose(attention.head_divergence(s, s)[0, 1, 0, 1], 0.0, atol=1e-6)


def test_head_divergence_needs_the_same_tokens():
    with pytest.raises(ValueError, match="same tokens"):
        attention.head_divergence(hand_maps(UNIFORM), hand_maps(UNIFORM, tokens=["[CLS]", "a", "c", "[SEP]"]))


def test_head_divergence_is_fast_at_real_model_shapes():
    """6x12 DistilBERT heads against 12x12 BERT heads at 128 tokens."""
    rng = np.random.default_rng(0)
    T = 128

    def softmax_maps(L):
        a = np.exp(2 * rng.normal(size=(L, 12, T, T)).astype(np.float32))
        return AttentionMaps("r", [str(i) for i in range(T)], a / a.sum(-1, keepdims=True))

    s, t = softmax_maps(6), softmax_maps(12)
    start = time.perf_counter()
    div = attention.head_divergence(s, t)
    assert time.perf_counter() - start < 5.0  # ~0.1 s on 2 CPU cores
    assert div.shape == (6, 12, 12, 12) and np.isfinite(div).all() and (div >= 0).all() and (div <= 1).all()


def test_best_matches():
    div = np.ones((2, 2, 3, 2))
    div[0, 0, 2, 1] = 0.1
    div[0, 1, 0, 0] = 0.2
    div[1, 0, 1, 1] = 0.3
    div[1, 1, 1, 0] = 0.4
    frame = attention.best_matches(div)
    assert list(frame.columns) == ["student_layer", "student_head", "teacher_layer", "teacher_head", "js_divergence"]
    rows = [tuple(r) for r in frame.itertuples(index=False)]
    assert rows == [(0, 0, 2, 1, 0.1), (0, 1, 0, 0, 0.2), (1, 0, 1, 1, 0.3), (1, 1, 1, 0, 0.4)]


# ---------------------------------------------------------------------------------------------
# A student built from a teacher: each copied head's best match is its source head


def teacher_and_students():
    # initializer_range 0.05, not BERT's 0.02: at 0.02 every random head is within 1e-4 bits of
    # uniform, so "best match" would compare noise. At 0.05 heads are distinguishable while each
    # random layer still only nudges the residual stream, as trained BERT layers do. From 0.1 on a
    # random layer rewrites the stream, so the teacher layer a student skips changes what the next
    # kept layer sees and deep layers stop matching: that is a property of random weights.
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tiny_vocab()),
        hidden_size=64,
        num_hidden_layers=12,
        num_attention_heads=4,
        intermediate_size=128,
        initializer_range=0.05,
    )
    teacher = BertForMaskedLM(config).eval()
    layers = [0, 2, 4, 7, 9, 11]
    reference = student.build_student(teacher, layers).eval()
    folded = student.build_student(teacher, layers, fold_token_type=True).eval()
    bert_tok = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True)
    distil_tok = DistilBertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True)

    def extract(model, side, tokenizer):
        return attention.extract(LoadedModel("fill-mask", side, side, "local", model, tokenizer), SENTENCE)

    return (
        extract(teacher, "bert", bert_tok),
        extract(reference, "distilbert", distil_tok),
        extract(folded, "distilbert", distil_tok),
    )


@pytest.fixture(scope="module")
def aligned():
    return teacher_and_students()


def source_heads_are_best(div: np.ndarray, layer_map: list[int]) -> np.ndarray:
    matches = attention.best_matches(div)
    expected_layer = np.array(layer_map)[matches["student_layer"]]
    ok = (matches["teacher_layer"] == expected_layer) & (matches["teacher_head"] == matches["student_head"])
    return ok.to_numpy().reshape(div.shape[:2])  # (Ls, Hs)


def test_student_heads_match_their_source_heads(aligned):
    teacher_maps, reference_maps, folded_maps = aligned
    sources = layer_map.default_layer_map(teacher_maps.layers, reference_maps.layers)
    assert sources == [0, 2, 4, 7, 9, 11]
    for maps in (folded_maps, reference_maps):
        div = attention.head_divergence(maps, teacher_maps)
        assert div.shape == (6, 4, 12, 4)
        assert source_heads_are_best(div, sources).all(), attention.best_matches(div)


def test_first_layer_identical_once_segment_a_is_folded_in(aligned):
    teacher_maps, reference_maps, folded_maps = aligned
    np.testing.assert_allclose(folded_maps.attentions[0], teacher_maps.attentions[0], atol=1e-6, rtol=0)
    div = attention.head_divergence(folded_maps, teacher_maps)
    np.testing.assert_allclose(np.diagonal(div[0, :, 0, :]), 0.0, atol=1e-6)
    # The reference recipe drops BERT's token-type embedding, which BERT adds to every token; so
    # even the student's first layer sees different inputs and its attention differs a little.
    reference_div = attention.head_divergence(reference_maps, teacher_maps)
    assert np.diagonal(reference_div[0, :, 0, :]).min() > 1e-4
    assert np.abs(reference_maps.attentions[0] - teacher_maps.attentions[0]).max() > 1e-3


# ---------------------------------------------------------------------------------------------
# Layer maps


@pytest.mark.parametrize(
    ("teacher_layers", "student_layers", "expected"),
    [
        (12, 6, [0, 2, 4, 7, 9, 11]),
        (4, 2, [0, 2]),
        (6, 3, [0, 2, 4]),
        (12, 3, [0, 6, 11]),
        (6, 6, [0, 1, 2, 3, 4, 5]),
        (4, 6, [0, 1, 1, 2, 2, 3]),
        (12, 1, [0]),
    ],
)
def test_default_layer_map(teacher_layers, student_layers, expected):
    assert layer_map.default_layer_map(teacher_layers, student_layers) == expected


def test_default_layer_map_needs_layers():
    with pytest.raises(ValueError):
        layer_map.default_layer_map(0, 6)


@pytest.mark.parametrize(
    ("text", "expected"), [("0,2,4,7,9,11", [0, 2, 4, 7, 9, 11]), (" 11 10 9 8 7 6 ", [11, 10, 9, 8, 7, 6])]
)
def test_parse_layer_map(text, expected):
    assert layer_map.parse_layer_map(text, 12, 6) == expected


def test_parse_layer_map_allows_repeats():
    assert layer_map.parse_layer_map("3, 3", 4, 2) == [3, 3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,2,4", "give 6 BERT layers, one per DistilBERT layer; got 3 (0, 2, 4)"),
        ("0,1,2,3,4,5,6", "give 6 BERT layers, one per DistilBERT layer; got 7 (0, 1, 2, 3, 4, 5, 6)"),
        ("0,2,4,7,9,12", "layer 12 is past the teacher's last layer (11)"),
        ("0,2,4,7,9,-1", "layer -1 is negative; layers count from 0"),
        ("0,2,4,7,9,x", "'x' is not a layer number; give whole numbers such as 0, 2, 4"),
        ("", "give at least one layer"),
    ],
)
def test_parse_layer_map_messages(text, message):
    with pytest.raises(InputError) as caught:
        layer_map.parse_layer_map(text, 12, 6)
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------------
# What to draw


def test_view_window():
    T = 100
    rng = np.random.default_rng(0)
    maps = AttentionMaps("m", [f"t{i}" for i in range(T)], rng.random((2, 3, T, T), dtype=np.float32))
    window, cut = attention.view_window(maps, max_tokens=64)
    assert cut and window.tokens == maps.tokens[:64]
    np.testing.assert_array_equal(window.attentions, maps.attentions[:, :, :64, :64])  # not renormalised
    assert window.name == "m" and maps.attentions.shape == (2, 3, T, T)  # the original is untouched

    whole, cut = attention.view_window(maps, max_tokens=T)
    assert not cut and whole.tokens == maps.tokens and whole.attentions.shape == (2, 3, T, T)
    with pytest.raises(ValueError):
        attention.view_window(maps, max_tokens=0)


def test_hide_special():
    a = np.arange(2 * 16, dtype=np.float32).reshape(1, 2, 4, 4)
    hidden = attention.hide_special(AttentionMaps("m", TOKENS, a))
    assert hidden.tokens == ["a", "b"]
    np.testing.assert_array_equal(hidden.attentions, a[:, :, 1:3, 1:3])
    # [MASK] and ordinary tokens stay; every [SEP] goes
    tokens = ["[CLS]", "x", "[SEP]", "[MASK]", "[SEP]"]
    kept = attention.hide_special(AttentionMaps("m", tokens, np.zeros((1, 1, 5, 5), dtype=np.float32)))
    assert kept.tokens == ["x", "[MASK]"] and kept.attentions.shape == (1, 1, 2, 2)
