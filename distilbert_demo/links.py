"""Links to a view of the page, for a speaker's bookmarks and the "copy link" button (no Gradio).

    ?tab=attention&example=2&presenter=1
    ?tab=reel&presenter=1                      (a view inside a tab: Evaluate's disagreement reel)
    ?tab=compare&task=sentiment&text=The+food+was+cold.

`example` numbers the shipped examples from 1 (resources.example_rows); a text that is not one of
them travels as task, text and question. Anything a link gets wrong is ignored, never an error: a
bad bookmark must still open the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from . import registry, resources
from .inputs import MAX_CHARS

# The page's tabs, in order: id (in links and elem_ids) -> label (ui.py lays them out from this)
TABS = {
    "compare": "Compare",
    "attention": "Attention",
    "explain": "Explain",
    "distill": "Distill",
    "evaluate": "Evaluate",
    "benchmark": "Benchmark",
    "ladder": "Ladder",
}
# Views inside a tab that a link opens too: link id -> (the tab, the view's tab id inside it)
INNER = {"reel": ("evaluate", "evaluate-reel")}
TABS_WITH_TEXT = ("compare", "attention")  # the tabs whose text box a link fills
MAX_LINK_TEXT = 2_000  # characters of text a link carries (browsers and servers cap URLs near 8 KB)
TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class View:
    tab: str | None = None
    task: str | None = None
    text: str | None = None
    question: str | None = None
    presenter: bool = False
    inner: str | None = None  # a view inside the tab (INNER), by its tab id


def parse(query: dict[str, str]) -> View:
    """The view a link's query parameters ask for; what is missing or wrong stays None."""
    tab = str(query.get("tab", "")).lower()
    presenter = str(query.get("presenter", "")).lower() in TRUE
    rows = resources.example_rows()
    number = str(query.get("example", ""))
    if number.isdigit() and 1 <= int(number) <= len(rows):
        task, text, question = rows[int(number) - 1]
        question = question or None
    else:
        task = str(query.get("task", "")).lower() or None
        text = query.get("text") or None
        question = query.get("question") or None
        if task is not None and task not in registry.TASKS:
            task = text = question = None
        if text is not None and len(text) > MAX_CHARS:
            text = None
    tab, inner = INNER.get(tab, (tab, None))
    return View(tab if tab in TABS else None, task, text, question, presenter, inner)


def on_screen(tab_ids: str) -> str:
    """The link id of what the browser shows, from the ids of its selected tabs (page.js): an inner
    view's own id (INNER) when one of them is on screen, else the outermost tab's."""
    ids = str(tab_ids or "").split()
    inner = [link for link, (_, view) in INNER.items() if view in ids]
    return inner[0] if inner else (ids[0] if ids else "")


def query(
    tab: str, task: str | None = None, text: str | None = None, question: str | None = None, presenter: bool = False
) -> str:
    """The query string that reopens this view: the example's number when the text is one of the
    shipped examples, the text itself when it is short enough for a link, else the tab alone."""
    params: dict[str, str] = {"tab": tab} if tab in TABS or tab in INNER else {}
    if tab in TABS_WITH_TEXT and task in registry.TASKS and text:
        question = (question or "") if task == "qa" else ""
        # The Attention tab has no question box: its text matches an example by task and text alone.
        rows = resources.example_rows()
        same = [
            n for n, row in enumerate(rows, 1) if row[:2] == [task, text] and (tab == "attention" or row[2] == question)
        ]
        if same:
            params["example"] = str(same[0])
        elif len(text) + len(question or "") <= MAX_LINK_TEXT:
            params |= {"task": task, "text": text} | ({"question": question} if question else {})
    if presenter:
        params["presenter"] = "1"
    return "?" + urlencode(params) if params else ""
