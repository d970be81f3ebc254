"""Links that open a view: ?tab=<id>&example=<n>."""

from distilbert_demo.compare.tab import example_rows
from distilbert_demo.ui import open_view


class Request:
    def __init__(self, **query):
        self.query_params = query


def test_a_link_names_a_tab_and_an_example():
    tabs, task, text, question, attention_task, attention_text = open_view(Request(tab="evaluate", example="3"))
    assert tabs.selected == "evaluate"
    assert (task, text, question) == tuple(example_rows()[2]) and (attention_task, attention_text) == (task, text)


def test_anything_else_leaves_the_page_alone():
    for query in ({}, {"tab": "nowhere"}, {"example": "0"}, {"example": "999"}, {"example": "-1"}, {"example": "x"}):
        updates = open_view(Request(**query))
        assert all(u == {"__type__": "update"} for u in updates[1:]), query
        if "tab" not in query:
            assert updates[0] == {"__type__": "update"}
