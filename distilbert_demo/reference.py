"""Independent references the app's predictions are checked against (by `doctor` and the tests):
transformers.pipeline for fill-mask and sentiment, and for question answering a replay of the
transformers-4 pipeline (transformers 5 removed it).

These take the raw model and tokenizer and share no code with the app's own prediction path.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import pipeline

CPU = torch.device("cpu")
Span = tuple[str, int, int, float]  # (answer, start, end, score)


def fill_mask(model, tokenizer, text: str, top_k: int = 5) -> list[list[tuple[str, int, float]]]:
    """(token, token id, score) per mask, best first, from pipeline("fill-mask")."""
    found = pipeline("fill-mask", model=model, tokenizer=tokenizer, device=model.device, top_k=top_k)(text)
    if isinstance(found[0], dict):  # the pipeline drops the nesting for a single mask
        found = [found]
    return [[(r["token_str"], r["token"], r["score"]) for r in mask] for mask in found]


def sentiment(model, tokenizer, text: str) -> list[tuple[str, float]]:
    """(raw label, score) best first, from pipeline("text-classification")."""
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device=model.device, top_k=None)
    return [(r["label"], r["score"]) for r in classify([text])[0]]


def qa_answers(model, tokenizer, question: str, context: str, top_k: int = 1) -> list[Span]:
    """transformers' question-answering pipeline, as (answer, start, end, score), best first.

    transformers 5 removed that pipeline (`pipeline("question-answering")` raises KeyError). Where
    it is gone, this replays its v4 code path for one window: the same tokenizer call, the same
    p_mask (context tokens and [CLS] allowed), the decoding helper `select_starts_ends` that
    transformers 5 still ships, and the same word-aligned character offsets.
    """
    try:
        qa_pipe = pipeline("question-answering", model=model, tokenizer=tokenizer, device=CPU)
    except KeyError:
        pass
    else:  # a transformers that still has it: ask the real thing
        out = qa_pipe(question=question, context=context, top_k=top_k)
        out = out if isinstance(out, list) else [out]
        return [(a["answer"], a["start"], a["end"], a["score"]) for a in out]

    from transformers.pipelines.document_question_answering import select_starts_ends

    max_seq_len = min(tokenizer.model_max_length, 384)
    enc = tokenizer(
        text=question,
        text_pair=context,
        padding="do_not_pad",
        truncation="only_second",
        max_length=max_seq_len,
        stride=min(max_seq_len // 2, 128),
        return_tensors="np",
        return_token_type_ids=True,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    if len(enc["input_ids"]) != 1:
        raise ValueError("the replay reads one window: keep the context within 384 tokens")
    p_mask = [int(seq != 1) for seq in enc.sequence_ids(0)]
    for cls_index in np.nonzero(enc["input_ids"][0] == tokenizer.cls_token_id)[0]:
        p_mask[cls_index] = 0  # the pipeline keeps [CLS] unmasked
    fw_args = {k: torch.tensor(enc[k], device=model.device) for k in tokenizer.model_input_names}  # (1, T) each
    with torch.no_grad():
        out = model(**fw_args)
    starts, ends, scores, _ = select_starts_ends(
        out.start_logits.cpu().numpy(), out.end_logits.cpu().numpy(), p_mask, enc["attention_mask"], top_k=top_k
    )
    encoding = enc.encodings[0]
    answers = []
    for s, e, score in zip(starts.tolist(), ends.tolist(), scores):
        try:
            start = encoding.word_to_chars(encoding.token_to_word(s), sequence_index=1)[0]
            end = encoding.word_to_chars(encoding.token_to_word(e), sequence_index=1)[1]
        except Exception:  # noqa: BLE001 - the pipeline falls back to token offsets likewise
            start, end = encoding.offsets[s][0], encoding.offsets[e][1]
        answers.append((context[start:end], start, end, float(score)))
    return sorted(answers, key=lambda a: a[3], reverse=True)[:top_k]
