"""The distillation corpus: the held-out split, a visitor's text, and the packed token stream."""

import itertools
from collections import Counter

import pytest
from transformers import BertTokenizerFast

from distilbert_demo.distill import corpus
from distilbert_demo.inputs import InputError
from tests.conftest import WORDS, tiny_vocab

SEQ_LEN = 16  # 14 tokens of text between [CLS] and [SEP]
LINE_WORDS = [w for w in WORDS if w.isalpha() and len(w) > 1][:40]
# One line per word, that word three times: a line's tokens are recognisable inside a packed sequence.
LINES = [f"{w} {w} {w}" for w in LINE_WORDS]
EMPTY_MESSAGE = "The corpus is empty: give at least two non-empty lines of text."


@pytest.fixture(scope="module")
def tokenizer() -> BertTokenizerFast:
    tok = BertTokenizerFast(vocab=tiny_vocab(), do_lower_case=True, model_max_length=512)
    assert len(tok) == len(tiny_vocab())
    return tok


def word_ids(tokenizer) -> dict[int, str]:
    ids = {tokenizer.convert_tokens_to_ids(w): w for w in LINE_WORDS}
    assert len(ids) == len(LINE_WORDS) and tokenizer.unk_token_id not in ids
    return ids


def lines_in(item: dict, tokenizer) -> list[str]:
    """The lines packed into one sequence, in order (each line is one word id three times)."""
    ids = item["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    body = ids[1:-1]
    assert len(body) % 3 == 0, body
    names = word_ids(tokenizer)
    lines = []
    for start in range(0, len(body), 3):
        run = body[start : start + 3]
        assert len(set(run)) == 1, f"a line was split or mixed: {run}"
        lines.append(" ".join([names[run[0]]] * 3))
    return lines


def take(stream, n: int) -> list[dict]:
    return list(itertools.islice(iter(stream), n))


# ---------------------------------------------------------------- split


def test_split_holds_out_every_eighth_sentence():
    sentences = [f"sentence {i}" for i in range(1, 42)]
    train, heldout = corpus.split(sentences)
    assert heldout == [f"sentence {i}" for i in range(8, 42, 8)]
    assert train == [s for s in sentences if s not in heldout]  # the rest, in order
    assert not set(train) & set(heldout)
    assert sorted(train + heldout) == sorted(sentences)


@pytest.mark.parametrize("n", range(2, 8))
def test_a_tiny_corpus_holds_out_its_last_line(n):
    sentences = [f"line {i}" for i in range(n)]
    assert corpus.split(sentences) == (sentences[:-1], sentences[-1:])


def test_eight_lines_hold_out_the_eighth():
    sentences = [f"line {i}" for i in range(1, 9)]
    assert corpus.split(sentences) == (sentences[:7], sentences[7:])


@pytest.mark.parametrize("sentences", [[], ["only one"]])
def test_split_refuses_fewer_than_two_sentences(sentences):
    with pytest.raises(InputError, match="The corpus is empty"):
        corpus.split(sentences)


# ---------------------------------------------------------------- read_user_text


@pytest.mark.parametrize("pasted", [None, "", "   \n\t \n"])
def test_nothing_given_means_the_toy_corpus(pasted):
    assert corpus.read_user_text(pasted, None) is None


def test_pasted_text_becomes_stripped_non_empty_lines():
    assert corpus.read_user_text("  the cat sat. \n\n\tthe dog ran.\n  \n") == ["the cat sat.", "the dog ran."]


def test_one_pasted_line_is_refused():
    with pytest.raises(InputError) as err:
        corpus.read_user_text("just one line\n\n")
    assert str(err.value) == EMPTY_MESSAGE


def test_pasted_text_over_the_limit_is_refused():
    pasted = "word\n" * (corpus.MAX_UPLOAD_BYTES // 5 + 1)
    assert len(pasted.encode()) > corpus.MAX_UPLOAD_BYTES
    with pytest.raises(InputError, match=r"The pasted text is over 2 MiB; please shorten it\."):
        corpus.read_user_text(pasted)


@pytest.mark.parametrize("name", ["corpus.txt", "CORPUS.TXT"])
def test_uploaded_txt_file(tmp_path, name):
    path = tmp_path / name
    path.write_text("première ligne\r\n\r\n  second line  \nthird\n", encoding="utf-8")
    # the upload wins over anything pasted at the same time
    assert corpus.read_user_text("ignored\nignored too", str(path)) == ["première ligne", "second line", "third"]


def test_uploaded_file_must_be_txt(tmp_path):
    path = tmp_path / "corpus.csv"
    path.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        corpus.read_user_text(None, str(path))
    assert str(err.value) == "Please upload a plain .txt file (one sentence or paragraph per line)."


def test_uploaded_file_must_be_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café crème\nthé\n".encode("latin-1"))
    with pytest.raises(InputError) as err:
        corpus.read_user_text(None, str(path))
    assert str(err.value) == "The file is not UTF-8 text."


def test_uploaded_file_over_the_limit_is_refused(tmp_path):
    at_limit, over = tmp_path / "at.txt", tmp_path / "over.txt"
    line = b"the cat sat on the mat\n"
    body = line * (corpus.MAX_UPLOAD_BYTES // len(line))
    at_limit.write_bytes(body + b"x" * (corpus.MAX_UPLOAD_BYTES - len(body)))
    over.write_bytes(body + b"x" * (corpus.MAX_UPLOAD_BYTES - len(body) + 1))
    assert at_limit.stat().st_size == corpus.MAX_UPLOAD_BYTES
    assert len(corpus.read_user_text(None, str(at_limit))) == corpus.MAX_UPLOAD_BYTES // len(line) + 1
    with pytest.raises(InputError) as err:
        corpus.read_user_text(None, str(over))
    size = corpus.MAX_UPLOAD_BYTES + 1
    assert str(err.value) == f"The file is {size:,} bytes; the limit is 2,097,152 bytes (2 MiB)."


@pytest.mark.parametrize("content", ["", "\n  \n\t\n", "one line only\n"])
def test_uploaded_file_without_two_lines_is_refused(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        corpus.read_user_text(None, str(path))
    assert str(err.value) == EMPTY_MESSAGE


# ---------------------------------------------------------------- load_corpus_file


def test_a_small_corpus_file_is_split_in_memory(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("".join(f"  {line}  \n\n" for line in LINES), encoding="utf-8")
    train, heldout, skip = corpus.load_corpus_file(path, heldout_count=5)
    assert (train, heldout, skip) == (*corpus.split(LINES), 0)


def test_load_corpus_file_refuses_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        corpus.load_corpus_file(tmp_path / "nope.txt", 5)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \none\n", encoding="utf-8")
    with pytest.raises(InputError, match="The corpus is empty"):
        corpus.load_corpus_file(empty, 5)


# ---------------------------------------------------------------- PackedTextStream


def test_sequences_are_framed_bounded_and_packed(tokenizer):
    stream = corpus.PackedTextStream(LINES, tokenizer, SEQ_LEN, seed=0)
    items = take(stream, 10)  # 40 lines of 3 tokens, 4 to a sequence: exactly one pass
    for item in items:
        assert len(item["input_ids"]) <= SEQ_LEN
        packed = lines_in(item, tokenizer)  # also checks [CLS] ... [SEP] and whole lines
        # greedy packing: a sequence is closed only when the next 3-token line would not fit
        assert len(packed) == (SEQ_LEN - 2) // 3 == 4
    assert Counter(line for item in items for line in lines_in(item, tokenizer)) == Counter(LINES)


def test_a_long_line_is_truncated_to_the_sequence_length(tokenizer):
    long_line = " ".join(LINE_WORDS)  # 40 tokens
    items = take(corpus.PackedTextStream([long_line, LINES[0]], tokenizer, SEQ_LEN, seed=0), 4)
    assert max(len(item["input_ids"]) for item in items) == SEQ_LEN
    assert all(len(item["input_ids"]) <= SEQ_LEN for item in items)


def test_the_stream_starts_again_after_the_last_line(tokenizer):
    items = take(corpus.PackedTextStream(LINES, tokenizer, SEQ_LEN, seed=3), 25)  # 2.5 passes
    passes = [items[0:10], items[10:20]]
    for one_pass in passes:
        assert Counter(line for item in one_pass for line in lines_in(item, tokenizer)) == Counter(LINES)
    third = [line for item in items[20:] for line in lines_in(item, tokenizer)]
    assert len(third) == 20 and len(set(third)) == 20 and set(third) <= set(LINES)
    # each pass is shuffled afresh
    assert [lines_in(i, tokenizer) for i in passes[0]] != [lines_in(i, tokenizer) for i in passes[1]]


def test_a_file_source_streams_the_same_lines_as_the_list(tokenizer, tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("".join(f"{line}\n" + ("\n   \n" if i % 3 == 0 else "") for i, line in enumerate(LINES)), "utf-8")
    from_list = take(corpus.PackedTextStream(LINES, tokenizer, SEQ_LEN, seed=5), 30)
    from_file = take(corpus.PackedTextStream(str(path), tokenizer, SEQ_LEN, seed=5), 30)
    decoded = [tokenizer.decode(item["input_ids"][1:-1]) for item in from_file]
    assert Counter(decoded[:10]) == Counter(tokenizer.decode(item["input_ids"][1:-1]) for item in from_list[:10])
    assert from_file == from_list  # same lines, same seed: the very same sequences


@pytest.mark.parametrize("source", ["list", "file"])
def test_skip_lines_skips_exactly_the_first_lines(tokenizer, tmp_path, source):
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(LINES) + "\n", encoding="utf-8")  # blank lines are not counted
    stream = corpus.PackedTextStream(LINES if source == "list" else str(path), tokenizer, SEQ_LEN, skip_lines=8)
    one_pass = take(stream, 8)  # 32 lines left, 4 to a sequence
    assert Counter(line for item in one_pass for line in lines_in(item, tokenizer)) == Counter(LINES[8:])


def test_the_shuffle_is_seeded(tokenizer):
    def order(seed):
        return [tuple(item["input_ids"]) for item in take(corpus.PackedTextStream(LINES, tokenizer, SEQ_LEN, seed), 20)]

    assert order(7) == order(7)
    assert order(7) != order(8)


def test_a_file_longer_than_the_shuffle_buffer_is_mixed_but_complete(tokenizer):
    lines = LINES * 3  # 120 lines through a buffer of 16
    stream = corpus.PackedTextStream(lines, tokenizer, SEQ_LEN, seed=1, shuffle_buffer=16)
    one_pass = [line for item in take(stream, 30) for line in lines_in(item, tokenizer)]
    assert Counter(one_pass) == Counter(lines)
    assert one_pass != lines


def test_text_the_tokenizer_cannot_use_is_refused(tokenizer):
    with pytest.raises(InputError, match="no text the tokenizer can use"):
        take(corpus.PackedTextStream(["\u200b", "\u200b\u200b"], tokenizer, SEQ_LEN), 1)


# ---------------------------------------------------------------- the shipped corpus


def test_the_toy_corpus():
    sentences = corpus.toy_corpus()
    assert len(sentences) >= 300
    assert len(set(sentences)) == len(sentences), [s for s, n in Counter(sentences).items() if n > 1]
    assert all(s == s.strip() and s for s in sentences)
    train, heldout = corpus.split(sentences)
    assert len(heldout) == len(sentences) // corpus.HELDOUT_EVERY
