"""The examples warm up at start, so a speaker's first click on stage answers at once."""

from collections import Counter

from distilbert_demo import gpu, ui
from distilbert_demo.compare import tab as compare_tab
from distilbert_demo.resources import example_rows


def test_every_example_runs_once_through_its_pair(tiny_store, monkeypatch):
    for task in ("fill-mask", "sentiment", "qa"):
        tiny_store.pair(task)
    ran, extracted = Counter(), Counter()
    real_compare, real_extract = ui.compare_core.compare_pair, ui.attention_core.extract

    def counting_compare(pair, text, **kwargs):
        ran[(pair.task, text, kwargs.get("question") or "")] += 1
        return real_compare(pair, text, **kwargs)

    def counting_extract(loaded, text, task):
        extracted[(loaded.side, task)] += 1
        return real_extract(loaded, text, task)

    monkeypatch.setattr(ui.compare_core, "compare_pair", counting_compare)
    monkeypatch.setattr(ui.attention_core, "extract", counting_extract)
    assert ui.warm_examples(tiny_store) == len(example_rows())
    assert ran == Counter(tuple(row) for row in example_rows())  # each example, once, with its question
    tasks, sides = ("fill-mask", "sentiment", "qa"), ("bert", "distilbert")
    assert extracted == Counter({(side, task): 1 for side in sides for task in tasks})


def test_no_warm_up_on_zero_gpu(tiny_store, monkeypatch):
    monkeypatch.setattr(gpu, "ZERO_GPU", True)  # a GPU exists only inside a call there
    monkeypatch.setattr(ui.compare_core, "compare_pair", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert ui.warm_examples(tiny_store) == 0


def test_the_examples_list_shows_the_chosen_tasks_examples_and_fills_the_boxes():
    for task in ("fill-mask", "sentiment", "qa"):
        rows = [row for row in example_rows() if row[0] == task]
        shown = compare_tab.examples_of(task)
        assert len(shown) == len(rows) <= compare_tab.MAX_EXAMPLES  # one page: nothing hides on a second
        for index, (_, text, question) in enumerate(rows):
            assert compare_tab.pick_example(task, index) == (text, question)
            assert text in shown[index][0] and question in shown[index][0]
        skipped = compare_tab.pick_example(task, len(rows))
        assert all(update == {"__type__": "update"} for update in skipped)
