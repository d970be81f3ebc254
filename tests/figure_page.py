"""A figure alone in Chromium, drawn as the page draws it: plotly.js from the installed package inlined
(no network) and page.js, the page's own presenter mode, in a box as wide as the page gives the figure."""

from pathlib import Path

import plotly

from distilbert_demo import resources

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PROJECTOR = {"width": 1280, "height": 720}


def open_figure(browser, folder: Path, fig, width: int, presenter: bool = False, presenter_height: int = 0):
    """A 1280x720 page showing `fig` `width` px wide, 32 px from the left as on the page, in presenter mode
    with the height page.css gives the figure (`presenter_height`); the caller closes it."""
    html = folder / f"figure-{width}-{'presenter' if presenter else 'page'}.html"
    html.write_text(
        f"""<!doctype html><html><head><meta charset="utf-8"><script>{PLOTLY_JS.read_text("utf-8")}</script></head>
<body class="{"presenter" if presenter else ""}" style="margin: 0 32px">
<div id="figure" style="width: {width}px; --presenter-plot-height: {presenter_height or ""}"></div>
<script>({resources.page_js()})();
const figure = {fig.to_json()};
Plotly.react(document.getElementById("figure"), figure.data, figure.layout, {{displayModeBar: false}});</script>
</body></html>""",
        "utf-8",
    )
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(html.as_uri(), wait_until="load")
    return page


# (left, top, right, bottom) of an element's box on the page
BOX = "(el) => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; }"
