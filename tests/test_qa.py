"""Extractive QA: same answers as transformers' question-answering pipeline, on tiny random models."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    BertForQuestionAnswering,
    BertTokenizerFast,
    DistilBertForQuestionAnswering,
    DistilBertTokenizerFast,
)

from distilbert_demo import qa, registry, twins
from distilbert_demo.inputs import MAX_CHARS, InputError
from distilbert_demo.loading import LoadedModel, load_model
from distilbert_demo.reference import Span
from distilbert_demo.reference import qa_answers as pipeline_answers

from .conftest import _bert_config, _distil_config, save_tiny, tiny_vocab

CPU = torch.device("cpu")

# Contexts mix whole-vocab words with words the tiny vocab splits into pieces ("doctors",
# "xylophone"), odd spacing and capitals, so word alignment and offsets are exercised.
PAIRS = [
    ("Where is the capital of France?", "Paris is the capital of France."),
    ("Who poured the coffee?", "  The nurse poured the coffee, and the doctors  opened another newspaper!"),
    (
        "What did the teacher expect?",
        "The teacher expected more knowledge from the model. Distillation trains a small model to imitate "
        "a large one; the small model is cheaper, but the large one is never boring. Xylophones were not "
        "expected at all, she said, really.",
    ),
    ("Which city?", "London: a famous city with a river, streets, roads and a quiet hotel room."),
]


@pytest.fixture(scope="module")
def qa_folders(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-qa")
    vocab = tiny_vocab()
    # transformers 5 takes `vocab=`; `vocab_file=` would silently give a 5-token tokenizer.
    bert_tok = BertTokenizerFast(vocab=dict(vocab), do_lower_case=True, model_max_length=512)
    distil_tok = DistilBertTokenizerFast(vocab=dict(vocab), do_lower_case=True, model_max_length=512)
    assert len(bert_tok) == len(vocab) == len(distil_tok)
    torch.manual_seed(4321)
    models = {
        "bert": (BertForQuestionAnswering(_bert_config(len(vocab))), bert_tok),
        "distilbert": (DistilBertForQuestionAnswering(_distil_config(len(vocab))), distil_tok),
    }
    return {side: save_tiny(root / side, model, tok) for side, (model, tok) in models.items()}


def load_qa(folder: str, side: str) -> LoadedModel:
    """Through the real loading path once a "qa" task is registered; until then, the same Auto classes."""
    if "qa" in registry.TASKS:
        return load_model("qa", side, folder, allow_twin=False, device=CPU)
    model = AutoModelForQuestionAnswering.from_pretrained(folder, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return LoadedModel(task="qa", side=side, name=folder, source="local", model=model, tokenizer=tokenizer)


@pytest.fixture(scope="module", params=["bert", "distilbert"])
def loaded(request, qa_folders) -> LoadedModel:
    model = load_qa(qa_folders[request.param], request.param)
    assert len(model.tokenizer) == len(tiny_vocab())
    expected = {"bert": BertForQuestionAnswering, "distilbert": DistilBertForQuestionAnswering}[request.param]
    assert type(model.model) is expected
    return model


def assert_same(ours: list[qa.Answer], theirs: list[Span]) -> None:
    assert [(a.text, a.start, a.end) for a in ours] == [t[:3] for t in theirs]
    for answer, (_, _, _, score) in zip(ours, theirs):
        assert answer.score == pytest.approx(score, abs=1e-5)


@pytest.mark.parametrize("question,context", PAIRS)
def test_answers_match_the_pipeline(loaded, question, context):
    ours = qa.answer_question(loaded, question, context)
    assert len(ours) == 1
    assert_same(ours, pipeline_answers(loaded.model, loaded.tokenizer, question, context))
    assert ours[0].text == context[ours[0].start : ours[0].end] and ours[0].text.strip()


@pytest.mark.parametrize("question,context", PAIRS)
def test_top3_matches_the_pipeline(loaded, question, context):
    ours = qa.answer_question(loaded, question, context, top_k=3)
    assert len(ours) == 3
    assert [a.score for a in ours] == sorted((a.score for a in ours), reverse=True)
    assert_same(ours, pipeline_answers(loaded.model, loaded.tokenizer, question, context, top_k=3))


def test_answers_are_whole_words_unless_asked_otherwise(loaded):
    """A span inside "xylophones" (x ##y ##l ...) is widened to the word, as the pipeline does."""
    question, context = "What?", "xylophones"
    prepared = qa.prepare_qa(question, context, loaded.tokenizer, CPU)
    c0, c1 = prepared.context_start, prepared.context_end
    assert c1 - c0 > 3  # the tiny vocab spells it out in pieces
    start, end = torch.full((prepared.num_tokens,), -5.0), torch.full((prepared.num_tokens,), -5.0)  # (T,), (T,)
    start[c0 + 1], end[c0 + 2] = 5.0, 5.0  # the best span is two pieces in the middle of the word
    aligned = qa.best_answers(start, end, prepared, context)[0]
    raw = qa.best_answers(start, end, prepared, context, align_to_words=False)[0]
    assert (aligned.text, aligned.start, aligned.end) == ("xylophones", 0, 10)
    assert raw.text == context[prepared.offsets[c0 + 1][0] : prepared.offsets[c0 + 2][1]] and len(raw.text) < 10
    assert aligned.score == raw.score


def test_scores_follow_the_pipeline_softmax(loaded):
    """p_start * p_end with [CLS] in the softmax: all span scores together stay below 1."""
    prepared = qa.prepare_qa(*PAIRS[0], loaded.tokenizer, CPU)
    start, end = qa.qa_logits(loaded.model, prepared)
    assert start.shape == end.shape == (prepared.num_tokens,)
    many = qa.best_answers(start, end, prepared, PAIRS[0][1], top_k=1000)
    c = prepared.context_end - prepared.context_start
    assert len(many) == sum(min(qa.MAX_ANSWER_TOKENS, c - i) for i in range(c))  # every valid span, once
    assert 0 < sum(a.score for a in many) < 1


def test_fewer_answers_than_asked_when_the_context_is_short(loaded):
    answers = qa.answer_question(loaded, "Where?", "Paris.", top_k=5)
    assert sorted((a.start, a.end) for a in answers) == [(0, 5), (0, 6), (5, 6)]  # Paris / Paris. / .
    assert all(a.score > 0 for a in answers)


def test_max_answer_len_limits_spans(loaded):
    context = PAIRS[2][1]
    prepared = qa.prepare_qa(PAIRS[2][0], context, loaded.tokenizer, CPU)
    start, end = qa.qa_logits(loaded.model, prepared)
    spans = qa.best_answers(start, end, prepared, context, top_k=20, max_answer_len=2, align_to_words=False)
    assert len(spans) == 20
    for answer in spans:  # token offsets, not words: whole words may be longer than 2 tokens
        assert len(loaded.tokenizer(answer.text, add_special_tokens=False)["input_ids"]) <= 2


def test_a_long_context_is_cut_and_the_user_is_told(loaded):
    sentence = "The doctor opened the newspaper in the hospital and poured more coffee. "
    context = sentence * 60  # ~ 900 tokens, well past the 384-token window
    prepared = qa.prepare_qa("Who opened the newspaper?", context, loaded.tokenizer, CPU)
    assert prepared.num_tokens == qa.MAX_QA_TOKENS
    assert len(prepared.notices) == 1
    notice = prepared.notices[0]
    assert "384-token window" in notice and "first" in notice and f"{len(context):,} characters" in notice
    read = prepared.offsets[prepared.context_end - 1][1]
    answers = qa.answer_question(loaded, "Who opened the newspaper?", context, top_k=3)
    assert all(a.end <= read for a in answers)

    short = qa.prepare_qa("Who opened the newspaper?", sentence, loaded.tokenizer, CPU)
    assert short.notices == []


@pytest.mark.parametrize(
    "question,context,message",
    [
        ("", "Paris.", "Please enter a question."),
        ("   \n", "Paris.", "Please enter a question."),
        (None, "Paris.", "Please enter a question."),
        ("a" * 1001, "Paris.", "The question has 1,001 characters; the limit is 1,000. Please shorten it."),
        ("Where?", "", "Please enter a context: the passage the answer is taken from."),
        ("Where?", " \t ", "Please enter a context: the passage the answer is taken from."),
        ("Where?", None, "Please enter a context: the passage the answer is taken from."),
        (
            "Where?",
            "x" * (MAX_CHARS + 1),
            f"The context has {MAX_CHARS + 1:,} characters; the limit is {MAX_CHARS:,}. Please shorten it.",
        ),
    ],
)
def test_bad_input_is_refused_before_tokenising(question, context, message):
    with pytest.raises(InputError) as err:
        qa.check_qa(question, context)
    assert str(err.value) == message and "\n" not in message


def test_check_qa_strips_the_question_but_keeps_the_context():
    assert qa.check_qa("  Where?  ", "  Paris.  ") == ("Where?", "  Paris.  ")


def test_bad_input_through_answer_question(loaded):
    with pytest.raises(InputError, match="^Please enter a question.$"):
        qa.answer_question(loaded, " ", "Paris.")
    # ~450 tokens of question: no room left for any context in the window
    with pytest.raises(InputError, match=r"^The question is \d+ tokens long and leaves no room for the context"):
        qa.answer_question(loaded, "a " * 450, "Paris.")
    # control characters only: BERT's normaliser drops them, leaving no context token
    with pytest.raises(InputError, match="^The context has no readable words"):
        qa.answer_question(loaded, "Where?", "\x00\x01\x02")


# Exact parameter counts of the twins, from the model classes (printed in the run below).
QA_TWINS = {
    "csarron/bert-base-uncased-squad-v1": ("bert", BertForQuestionAnswering, 108_893_186),
    "distilbert-base-cased-distilled-squad": ("distilbert", DistilBertForQuestionAnswering, 65_192_450),
}


@pytest.mark.parametrize("checkpoint", list(QA_TWINS))
def test_qa_twin_configs_give_the_real_architectures(checkpoint):
    model_type, model_class, params = QA_TWINS[checkpoint]
    assert twins.has_twin(checkpoint)
    config = AutoConfig.from_pretrained(twins.twin_config_dir(checkpoint))
    assert config.model_type == model_type and config.architectures == [model_class.__name__]
    model = twins.build_twin(checkpoint, "AutoModelForQuestionAnswering")
    assert type(model) is model_class
    count = sum(p.numel() for p in model.parameters())
    print(f"{checkpoint}: {count:,} parameters")
    assert count == params
    assert abs(count - {"bert": 109e6, "distilbert": 66e6}[model_type]) < 1.5e6
    assert model.qa_outputs.out_features == 2  # start and end logits


def test_cased_twin_tokenizer_keeps_case_and_fills_the_vocab():
    cased = twins.twin_tokenizer("distilbert", 28996, lowercase=False)
    assert len(cased) == 28996
    assert [cased.pad_token_id, cased.unk_token_id, cased.cls_token_id, cased.sep_token_id] == [0, 100, 101, 102]
    assert cased.tokenize("Paris")[0].startswith("P")
    assert "[UNK]" not in cased.tokenize("PARIS and Paris, not paris")  # every ASCII letter is in the vocab
    assert "token_type_ids" not in cased("hello")
    uncased = twins.twin_tokenizer("distilbert", 28996)  # the default stays lower-cased
    assert len(uncased) == 28996 and uncased.tokenize("Paris") == ["paris"]


def test_cased_distilbert_twin_answers_with_its_tokenizer():
    checkpoint = "distilbert-base-cased-distilled-squad"
    model = twins.build_twin(checkpoint, "AutoModelForQuestionAnswering")
    tokenizer = twins.twin_tokenizer(model.config.model_type, model.config.vocab_size, lowercase=False)
    twin = LoadedModel("qa", "distilbert", checkpoint, "twin", model, tokenizer)
    context = "Paris is the capital of France."
    answers = qa.answer_question(twin, "What is the capital of France?", context, top_k=2)
    assert len(answers) == 2 and all(a.text == context[a.start : a.end] for a in answers)
