"""The DistilBERT student built from a BERT teacher: which tensors it takes over, and that they are exact copies."""

import pytest
import torch
from transformers import (
    AutoModelForMaskedLM,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertTokenizerFast,
    DistilBertConfig,
    DistilBertForMaskedLM,
    DistilBertTokenizerFast,
)

from distilbert_demo import layer_map
from distilbert_demo.distill import student
from distilbert_demo.inputs import InputError
from tests.conftest import tiny_vocab

SENTENCE = "the famous director poured coffee for the nurse and the doctor in the hotel room ."


def tiny_teacher(layers: int, seed: int = 0, **extra) -> BertForMaskedLM:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tiny_vocab()),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        **extra,
    )
    return BertForMaskedLM(config).eval()


@pytest.fixture(scope="module", params=[4, 12], ids=["teacher4", "teacher12"])
def teacher(request) -> BertForMaskedLM:
    return tiny_teacher(request.param)


@pytest.fixture(scope="module")
def tokens() -> dict[str, torch.Tensor]:
    tokenizer = DistilBertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True)
    assert len(tokenizer) == len(tiny_vocab())  # `vocab=`, not `vocab_file=` (see DESIGN.md traps)
    return tokenizer(SENTENCE, return_tensors="pt")


def test_copied_pairs_cover_every_student_tensor(teacher):
    layers = layer_map.default_student_layers(teacher.config.num_hidden_layers)
    built = student.build_student(teacher)
    pairs = student.copied_pairs(layers)
    student_keys = [s for s, _ in pairs]
    assert len(student_keys) == len(set(student_keys))
    # vocab_projector.weight is the word-embedding matrix itself (tied), so it is not listed.
    assert set(built.state_dict()) == set(student_keys) | {"vocab_projector.weight"}
    assert built.vocab_projector.weight is built.distilbert.embeddings.word_embeddings.weight
    assert {t for _, t in pairs} <= set(teacher.state_dict())


def test_every_copied_tensor_equals_its_source(teacher):
    layers = layer_map.default_student_layers(teacher.config.num_hidden_layers)
    built = student.build_student(teacher)
    sd_student, sd_teacher = built.state_dict(), teacher.state_dict()
    for student_key, teacher_key in student.copied_pairs(layers):
        assert torch.equal(sd_student[student_key], sd_teacher[teacher_key]), (student_key, teacher_key)
        # copies, not views: training the student must not move the teacher
        assert sd_student[student_key].data_ptr() != sd_teacher[teacher_key].data_ptr()


def test_layers_embeddings_and_head_by_module(teacher):
    """The same mapping checked through the modules, independently of copied_pairs' key strings."""
    layers = layer_map.default_student_layers(teacher.config.num_hidden_layers)
    built = student.build_student(teacher)
    same = torch.equal
    for i, source in enumerate(layers):
        s, t = built.distilbert.transformer.layer[i], teacher.bert.encoder.layer[source]
        pairs = [
            (s.attention.q_lin, t.attention.self.query),
            (s.attention.k_lin, t.attention.self.key),
            (s.attention.v_lin, t.attention.self.value),
            (s.attention.out_lin, t.attention.output.dense),
            (s.sa_layer_norm, t.attention.output.LayerNorm),
            (s.ffn.lin1, t.intermediate.dense),
            (s.ffn.lin2, t.output.dense),
            (s.output_layer_norm, t.output.LayerNorm),
        ]
        for s_mod, t_mod in pairs:
            assert same(s_mod.weight, t_mod.weight) and same(s_mod.bias, t_mod.bias), (i, source, s_mod)
    s_emb, t_emb = built.distilbert.embeddings, teacher.bert.embeddings
    assert same(s_emb.word_embeddings.weight, t_emb.word_embeddings.weight)
    assert same(s_emb.position_embeddings.weight, t_emb.position_embeddings.weight)
    assert same(s_emb.LayerNorm.weight, t_emb.LayerNorm.weight) and same(s_emb.LayerNorm.bias, t_emb.LayerNorm.bias)
    head = teacher.cls.predictions
    assert same(built.vocab_transform.weight, head.transform.dense.weight)
    assert same(built.vocab_transform.bias, head.transform.dense.bias)
    assert same(built.vocab_layer_norm.weight, head.transform.LayerNorm.weight)
    assert same(built.vocab_layer_norm.bias, head.transform.LayerNorm.bias)
    assert same(built.vocab_projector.weight, head.decoder.weight)
    assert same(built.vocab_projector.bias, head.decoder.bias)


def test_no_token_type_embeddings_and_layer_counts(teacher):
    n = teacher.config.num_hidden_layers
    built = student.build_student(teacher)
    assert not hasattr(built.distilbert.embeddings, "token_type_embeddings")
    assert not [k for k in built.state_dict() if "token_type" in k or "pooler" in k]
    assert built.config.n_layers == len(built.distilbert.transformer.layer) == {4: 2, 12: 6}[n]
    assert student.build_student(teacher, [1, 3]).config.n_layers == 2
    assert teacher.config.num_hidden_layers == n  # the teacher is left alone
    assert built.training is teacher.training


def test_student_config_mirrors_teacher():
    teacher = tiny_teacher(4, hidden_act="relu", hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.3)
    config = student.student_config(teacher.config, [0, 3])
    assert isinstance(config, DistilBertConfig)
    assert (config.dim, config.n_heads, config.hidden_dim, config.n_layers) == (32, 4, 64, 2)
    assert (config.vocab_size, config.max_position_embeddings) == (len(tiny_vocab()), 512)
    assert (config.activation, config.dropout, config.attention_dropout) == ("relu", 0.2, 0.3)
    assert config.pad_token_id == teacher.config.pad_token_id
    assert config.sinusoidal_pos_embds is False and config.tie_word_embeddings is True


def test_logits_finite_and_survive_save_and_reload(teacher, tokens, tmp_path):
    built = student.build_student(teacher).eval()
    with torch.inference_mode():
        logits = built(**tokens).logits  # (1, T, V)
    assert logits.shape == (1, tokens["input_ids"].shape[1], len(tiny_vocab()))
    assert torch.isfinite(logits).all()

    built.save_pretrained(tmp_path)
    reloaded = AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, DistilBertForMaskedLM)
    with torch.inference_mode():
        assert torch.equal(reloaded(**tokens).logits, logits)


def test_student_keeping_every_layer_computes_the_teacher(teacher):
    """End to end: keep all layers and fold segment A's embedding in, and the student *is* the teacher.

    This checks what the key-by-key comparison cannot: activation, LayerNorm eps, head order.
    """
    n = teacher.config.num_hidden_layers
    ids = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True)(SENTENCE, return_tensors="pt")
    clone = student.build_student(teacher, list(range(n)), fold_token_type=True).eval()
    with torch.inference_mode():
        expected = teacher(**ids).logits  # (1, T, V); token types all 0 = segment A
        got = clone(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)

    # The reference recipe drops the token-type embedding, so its embeddings differ by segment A's vector.
    reference = student.build_student(teacher, list(range(n))).eval()
    with torch.inference_mode():
        off = reference(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).logits
    assert not torch.allclose(off, expected, atol=1e-3)


def test_fold_token_type_changes_only_the_position_embeddings(teacher):
    plain = student.build_student(teacher)
    folded = student.build_student(teacher, fold_token_type=True)
    segment_a = teacher.bert.embeddings.token_type_embeddings.weight[0]
    for key, tensor in plain.state_dict().items():
        other = folded.state_dict()[key]
        if key == "distilbert.embeddings.position_embeddings.weight":
            torch.testing.assert_close(other, tensor + segment_a)
        else:
            assert torch.equal(other, tensor), key


def test_rejects_teachers_that_are_not_bert_mlm():
    vocab = len(tiny_vocab())
    distil = DistilBertForMaskedLM(DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=4, hidden_dim=64))
    with pytest.raises(ValueError, match="BERT masked-LM"):
        student.build_student(distil)
    classifier = BertForSequenceClassification(
        BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    )
    with pytest.raises(ValueError, match="BERT masked-LM"):
        student.build_student(classifier)
    with pytest.raises(ValueError, match="LayerNorm eps"):
        student.build_student(tiny_teacher(2, layer_norm_eps=1e-5))


@pytest.mark.parametrize("layers", [[], [0, 0], [4], [-1]])
def test_rejects_bad_layer_lists(layers):
    with pytest.raises(ValueError, match="layers must be distinct"):
        student.build_student(tiny_teacher(4), layers)


@pytest.mark.parametrize(
    ("teacher_layers", "expected"),
    [(12, [0, 2, 4, 7, 9, 11]), (4, [0, 2]), (6, [0, 2, 4]), (5, [0, 2, 4]), (1, [0]), (24, list(range(0, 24, 2)))],
)
def test_default_student_layers(teacher_layers, expected):
    assert layer_map.default_student_layers(teacher_layers) == expected


def test_default_student_layers_needs_a_layer():
    with pytest.raises(ValueError):
        layer_map.default_student_layers(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0,2,4", [0, 2, 4]),
        (" 0 , 2 ,4 ", [0, 2, 4]),
        ("0 2 4", [0, 2, 4]),
        ("0,2,", [0, 2]),
        ("11, 0", [11, 0]),  # order is kept: increasing is not required
        ("7", [7]),
    ],
)
def test_parse_layers(text, expected):
    assert layer_map.parse_layers(text, 12) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "give at least one layer"),
        ("  ", "give at least one layer"),
        (" , ,", "give at least one layer"),
        (None, "give at least one layer"),
        ("0,two,4", "'two' is not a layer number; give whole numbers such as 0, 2, 4"),
        ("1.5", "'1.5' is not a layer number; give whole numbers such as 0, 2, 4"),
        ("0;2", "'0;2' is not a layer number; give whole numbers such as 0, 2, 4"),
        ("-1", "layer -1 is negative; layers count from 0"),
        ("0,12", "layer 12 is past the teacher's last layer (11)"),
        ("0,2,2", "layer 2 is given twice; each teacher layer can be kept once"),
    ],
)
def test_parse_layers_messages(text, message):
    with pytest.raises(InputError) as caught:
        layer_map.parse_layers(text, 12)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
