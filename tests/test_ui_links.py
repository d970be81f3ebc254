"""Links that open a view (links.py): ?tab=<id>&example=<n>&presenter=1, or a text of one's own."""

from urllib.parse import parse_qs

from distilbert_demo import links, ui
from distilbert_demo.resources import example_rows

SKIP = {"__type__": "update"}


class Request:
    def __init__(self, **query):
        self.query_params = query


def test_a_link_names_a_tab_an_example_and_presenter_mode():
    tabs, presenter, inner, task, text, question, attention_task, attention_text = ui.open_view(
        Request(tab="evaluate", example="3", presenter="1")
    )
    assert tabs.selected == "evaluate" and presenter is True and inner == SKIP
    assert (task, text, question) == tuple(example_rows()[2]) and (attention_task, attention_text) == (task, text)


def test_anything_else_leaves_the_page_alone():
    queries = (
        {},
        {"tab": "nowhere"},
        {"example": "0"},
        {"example": "999"},
        {"example": "-1"},
        {"example": "x"},
        {"task": "translation", "text": "hello"},
        {"task": "sentiment", "text": "x" * 20_000},
        {"presenter": "maybe"},
    )
    for query in queries:
        updates = ui.open_view(Request(**query))
        assert all(u == SKIP for u in updates[1:]), query
        if "tab" not in query:
            assert updates[0] == SKIP


def test_a_text_of_ones_own_travels_in_the_link_and_comes_back():
    query = links.query("compare", "sentiment", "The soup was cold & the staff rude?", presenter=True)
    params = {k: v[0] for k, v in parse_qs(query.removeprefix("?")).items()}
    assert params == {
        "tab": "compare",
        "task": "sentiment",
        "text": "The soup was cold & the staff rude?",
        "presenter": "1",
    }
    assert links.parse(params) == links.View("compare", "sentiment", "The soup was cold & the staff rude?", None, True)


def test_an_example_on_screen_is_linked_by_its_number():
    for number, (task, text, question) in enumerate(example_rows(), start=1):
        assert links.query("compare", task, text, question) == f"?tab=compare&example={number}"
        # the Attention tab has no question box: the text alone finds a question-answering example
        assert links.query("attention", task, text) == f"?tab=attention&example={number}"
        assert links.parse({"example": str(number)}) == links.View(None, task, text, question or None, False)


def test_question_answering_keeps_its_question_and_other_tabs_keep_only_the_tab():
    query = links.query("compare", "qa", "Paris is in France.", "Where is Paris?")
    assert parse_qs(query[1:])["question"] == ["Where is Paris?"]
    assert links.query("distill", "fill-mask", "anything [MASK].", presenter=True) == "?tab=distill&presenter=1"
    assert links.query("compare", "fill-mask", "x" * (links.MAX_LINK_TEXT + 1)) == "?tab=compare"  # too long for a URL
    assert links.query("") == ""


def test_the_view_link_reads_the_tab_on_screen():
    rows = example_rows()
    compare_args = rows[0]
    attention_args = rows[5][:2]
    assert ui.view_query("attention", False, *compare_args, *attention_args) == "?tab=attention&example=6"
    assert ui.view_query("compare", True, *compare_args, *attention_args) == "?tab=compare&example=1&presenter=1"


def test_a_link_opens_a_view_inside_a_tab_and_the_view_link_names_it():
    tabs, presenter, inner, *_ = ui.open_view(Request(tab="reel", presenter="1"))
    assert (tabs.selected, inner.selected, presenter) == ("evaluate", "evaluate-reel", True)
    assert links.parse({"tab": "reel"}) == links.View("evaluate", inner="evaluate-reel")
    rows = example_rows()
    args = (*rows[0], *rows[5][:2])
    # the page sends every selected tab on screen, outermost first
    assert ui.view_query("evaluate evaluate-reel", True, *args) == "?tab=reel&presenter=1"
    assert ui.view_query("evaluate evaluate-results", False, *args) == "?tab=evaluate"
    assert ui.view_query("attention", False, *args) == "?tab=attention&example=6"
    assert links.on_screen("") == ""
