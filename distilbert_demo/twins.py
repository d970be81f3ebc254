"""Architecture twins: the default checkpoints' exact architectures with random weights.

When the hub is unreachable and nothing is cached, the app still starts on these. Latency,
memory and attention mechanics are those of the real models; predictions are meaningless.
The configs are the hub's own config.json files, shipped in the package's assets/twins/; the tokenizer is a
WordPiece vocabulary learned from the shipped corpus and laid out like bert-base-uncased's
(same special-token ids, padded with [unusedN] entries to the config's vocab_size).
"""

from __future__ import annotations

import functools
import string
from collections import Counter
from importlib.resources.abc import Traversable

import torch
import transformers
from tokenizers import normalizers, pre_tokenizers
from transformers import AutoConfig, BertTokenizerFast, DistilBertTokenizerFast, PreTrainedModel

from . import resources

TWIN_SEED = 0  # fixed so a twin gives the same answer on every start


def twin_config_dir(checkpoint: str) -> Traversable:
    return resources.TWIN_CONFIGS / checkpoint.replace("/", "__")


def has_twin(checkpoint: str) -> bool:
    return (twin_config_dir(checkpoint) / "config.json").is_file()


@functools.cache
def twin_vocab(vocab_size: int = 30522, learned_size: int = 8000, lowercase: bool = True) -> dict[str, int]:
    """A WordPiece vocabulary built from the shipped text (lower-cased, as bert-base-uncased,
    unless `lowercase=False`: then case is kept, as in the cased checkpoints' 28,996-entry vocab).

    Every character seen (and every ASCII letter and digit) is a piece both word-initial and as a
    ##continuation, so any word of those characters tokenises without [UNK]; then the corpus's
    words, most frequent first, up to `learned_size`. Built by counting rather than with
    tokenizers' WordPieceTrainer, whose ties break differently in every process: the same
    vocabulary on every start, so a twin gives the same answer every time.

    Ids follow bert-base-uncased: [PAD]=0, [unused0..98]=1..99, [UNK]=100, [CLS]=101,
    [SEP]=102, [MASK]=103, then the pieces and words, then [unusedN] up to `vocab_size`.
    """
    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    splitter = pre_tokenizers.BertPreTokenizer()
    lines = resources.toy_corpus()  # the twin tokenizer learns its vocabulary here
    for examples in resources.examples().values():
        for example in examples:  # a text, or [question, context] for question answering
            lines += example if isinstance(example, list) else [example]
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(line)))
    ascii_chars = (string.ascii_lowercase if lowercase else string.ascii_letters) + string.digits
    chars = sorted({c for word in counts for c in word} | set(ascii_chars))
    words = [w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if len(w) > 1]

    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += chars + [f"##{c}" for c in chars] + words[:learned_size]
    unused = 99
    while len(tokens) < vocab_size:
        tokens.append(f"[unused{unused}]")
        unused += 1
    return {tok: i for i, tok in enumerate(tokens[:vocab_size])}


def twin_tokenizer(model_type: str, vocab_size: int = 30522, lowercase: bool = True) -> BertTokenizerFast:
    """The twin vocabulary in the tokenizer class the real checkpoint uses.

    DistilBERT's class drops token_type_ids, which its model does not take. `lowercase=False`
    stands in for a cased checkpoint (e.g. distilbert-base-cased-distilled-squad).
    """
    tokenizer_class = DistilBertTokenizerFast if model_type == "distilbert" else BertTokenizerFast
    vocab = dict(twin_vocab(vocab_size, lowercase=lowercase))
    # transformers 5 takes `vocab=` (a dict or path); `vocab_file=` would be silently ignored.
    return tokenizer_class(vocab=vocab, do_lower_case=lowercase, model_max_length=512)


def build_twin(checkpoint: str, auto_class_name: str) -> PreTrainedModel:
    """Randomly initialised model with `checkpoint`'s exact config (seeded: same weights each time)."""
    config = AutoConfig.from_pretrained(twin_config_dir(checkpoint))
    auto_class = getattr(transformers, auto_class_name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TWIN_SEED)
        model = auto_class.from_config(config)
    return model.eval()
