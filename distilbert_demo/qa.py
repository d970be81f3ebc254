"""Extractive question answering: the span of the context that best answers the question.

Decoding is that of transformers' question-answering pipeline (removed in transformers 5, whose
helpers `select_starts_ends` / `decode_spans` survive in pipelines/document_question_answering.py):
softmax over the context tokens plus [CLS], score = p_start * p_end over spans with
start <= end and at most `max_answer_len` tokens, answers widened to whole words.

One simplification: the pipeline splits a long context into overlapping 384-token windows
(doc_stride 128) and answers from all of them; here the context is cut to fit one 384-token
window and the user is told so. Both models see the same window, which is what a side-by-side
comparison needs, and one forward pass is what gets timed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import PreTrainedTokenizerBase

from .inputs import MAX_CHARS, InputError, check_text, model_inputs, tensors_on
from .loading import LoadedModel

MAX_QUESTION_CHARS = 1000  # refused before tokenising; a question is a sentence, not a document
MAX_QA_TOKENS = 384  # the pipeline's default max_seq_len: SQuAD checkpoints were fine-tuned at 384
MAX_ANSWER_TOKENS = 15  # the pipeline's default max_answer_len


@dataclass
class QAPrepared:
    """A question and its context tokenised as one pair for one model: [CLS] q [SEP] c [SEP].

    Only the first window is kept: a context that does not fit in MAX_QA_TOKENS with the
    question is cut (no doc-stride windows) and `notices` says how much of it was read.
    """

    input_ids: torch.Tensor  # (1, T)
    attention_mask: torch.Tensor  # (1, T)
    token_type_ids: torch.Tensor | None  # (1, T) for BERT, None for DistilBERT
    context_start: int  # index into T of the first context token
    context_end: int  # index into T one past the last context token
    offsets: list[tuple[int, int]]  # (T,) character span of each token in its own text; (0, 0) for specials
    word_ids: list[int | None]  # (T,) word index of each token within its own text; None for specials
    notices: list[str] = field(default_factory=list)  # things the user should know (the context was cut)

    def model_inputs(self) -> dict[str, torch.Tensor]:
        return model_inputs(self.input_ids, self.attention_mask, self.token_type_ids)

    @property
    def num_tokens(self) -> int:
        return self.input_ids.shape[1]


@dataclass
class Answer:
    text: str  # context[start:end]
    start: int  # character offset into the context, inclusive
    end: int  # character offset into the context, exclusive
    score: float  # p_start * p_end, as the pipeline reports it
    start_token: int = -1  # index into the input of the span's first token (what the start logit chose)
    end_token: int = -1  # and of its last token


def check_task_input(task: str, text: object, question: object = "") -> None:
    """The text a task needs (and for question answering its question), refused before any model runs."""
    if task == "qa":
        check_qa(question, text)
    else:
        check_text(text, task)


def check_qa(question: object, context: object) -> tuple[str, str]:
    """Refuse what cannot be run, before any tokenising. Returns (stripped question, context).

    The context is returned unchanged so that answer offsets index the caller's own string.
    """
    if not isinstance(question, str) or not question.strip():
        raise InputError("Please enter a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(
            f"The question has {len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,}. Please shorten it."
        )
    if not isinstance(context, str) or not context.strip():
        raise InputError("Please enter a context: the passage the answer is taken from.")
    if len(context) > MAX_CHARS:
        raise InputError(f"The context has {len(context):,} characters; the limit is {MAX_CHARS:,}. Please shorten it.")
    return question.strip(), context


def prepare_qa(question: str, context: str, tokenizer: PreTrainedTokenizerBase, device: torch.device) -> QAPrepared:
    """Tokenise (question, context) as the pipeline does, keeping only the first 384-token window."""
    question, context = check_qa(question, context)
    if not tokenizer.is_fast:  # offsets and word ids come from the Rust tokenizer
        raise TypeError("question answering needs a fast tokenizer (for character offsets)")
    # [CLS] q [SEP] [SEP]: what the question takes before any context token fits.
    question_tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    if question_tokens + 3 >= MAX_QA_TOKENS:
        raise InputError(
            f"The question is {question_tokens} tokens long and leaves no room for the context in the "
            f"{MAX_QA_TOKENS}-token window. Please shorten it."
        )
    encoded = tokenizer(
        question,
        context,
        truncation="only_second",  # cut the context, never the question
        max_length=MAX_QA_TOKENS,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    sequence_ids = encoded.sequence_ids(0)  # (T,) 0 question, 1 context, None special
    context_positions = [i for i, seq in enumerate(sequence_ids) if seq == 1]
    if not context_positions:  # e.g. only control or zero-width characters, which BERT drops
        raise InputError("The context has no readable words to take an answer from.")
    context_start, context_end = context_positions[0], context_positions[-1] + 1
    offsets = [tuple(pair) for pair in encoded["offset_mapping"][0].tolist()]

    notices = []
    full_context_tokens = len(tokenizer(context, add_special_tokens=False)["input_ids"])
    kept = context_end - context_start
    if full_context_tokens > kept:
        read_chars = offsets[context_end - 1][1]
        notices.append(
            f"The context is {full_context_tokens} tokens long; with the question only its first {kept} tokens fit "
            f"in the {MAX_QA_TOKENS}-token window, so the answer was sought in its first {read_chars:,} of "
            f"{len(context):,} characters only."
        )

    return QAPrepared(
        **tensors_on(encoded, device),
        context_start=context_start,
        context_end=context_end,
        offsets=offsets,
        word_ids=encoded.word_ids(0),
        notices=notices,
    )


def qa_logits(model, prepared: QAPrepared) -> tuple[torch.Tensor, torch.Tensor]:
    """The production forward (what gets timed): start and end logits, each of shape (T,)."""
    out = model(**prepared.model_inputs())
    return out.start_logits[0], out.end_logits[0]  # (T,), (T,)


def _word_span(prepared: QAPrepared, token: int) -> tuple[int, int]:
    """Character span of the whole context word holding `token` (the pipeline's align_to_words)."""
    word = prepared.word_ids[token]
    context = range(prepared.context_start, prepared.context_end)
    same = [i for i in context if prepared.word_ids[i] == word]  # a word's tokens are contiguous
    return prepared.offsets[same[0]][0], prepared.offsets[same[-1]][1]


def best_answers(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    prepared: QAPrepared,
    context: str,
    top_k: int = 1,
    max_answer_len: int = MAX_ANSWER_TOKENS,
    align_to_words: bool = True,
) -> list[Answer]:
    """The `top_k` best spans, decoded as the question-answering pipeline does, best first.

    With `align_to_words` (the pipeline's default) a span that starts or ends inside a word is
    widened to the whole word; without it the characters are those of the tokens alone. May
    return fewer than `top_k` when the context has fewer valid spans.
    """
    if top_k < 1 or max_answer_len < 1:
        raise ValueError("top_k and max_answer_len must be at least 1")
    c0, c1 = prepared.context_start, prepared.context_end
    # The pipeline leaves [CLS] (index 0) in the softmax, because SQuAD 2 models point there for
    # "no answer", but never answers with it (handle_impossible_answer=False): it takes a share of
    # the probability and its own spans score 0. Question, [SEP] and padding are masked out.
    allowed = torch.zeros_like(prepared.attention_mask[0], dtype=torch.bool)  # (T,)
    allowed[c0:c1] = True
    allowed[0] = True
    allowed &= prepared.attention_mask[0].bool()
    p_start = start_logits.float().masked_fill(~allowed, float("-inf")).softmax(-1)[c0:c1]  # (C,)
    p_end = end_logits.float().masked_fill(~allowed, float("-inf")).softmax(-1)[c0:c1]  # (C,)

    scores = p_start[:, None] * p_end[None, :]  # (C, C): row = start token, column = end token
    # Keep end >= start and end - start < max_answer_len, as np.tril(np.triu(outer), max_answer_len - 1).
    valid = torch.ones_like(scores, dtype=torch.bool).triu().tril(max_answer_len - 1)  # (C, C)
    scores = scores.masked_fill(~valid, float("-inf"))
    best, flat = scores.flatten().topk(min(top_k, int(valid.sum())))  # (k,), (k,)

    answers = []
    width = scores.shape[1]
    for score, index in zip(best.tolist(), flat.tolist()):
        start_token, end_token = c0 + index // width, c0 + index % width
        if align_to_words:
            start_char, end_char = _word_span(prepared, start_token)[0], _word_span(prepared, end_token)[1]
        else:
            start_char, end_char = prepared.offsets[start_token][0], prepared.offsets[end_token][1]
        answers.append(Answer(context[start_char:end_char], start_char, end_char, score, start_token, end_token))
    return answers


def answer_question(
    loaded: LoadedModel, question: str, context: str, top_k: int = 1, max_answer_len: int = MAX_ANSWER_TOKENS
) -> list[Answer]:
    """Check, tokenise, run and decode: the `top_k` best answers of one model, best first.

    Callers that must show the truncation notice use prepare_qa / qa_logits / best_answers.
    """
    question, context = check_qa(question, context)
    prepared = prepare_qa(question, context, loaded.tokenizer, loaded.device)
    with torch.inference_mode():
        start_logits, end_logits = qa_logits(loaded.model, prepared)  # (T,), (T,)
    return best_answers(start_logits, end_logits, prepared, context, top_k, max_answer_len)
