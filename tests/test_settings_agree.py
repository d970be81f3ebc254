"""Each setting is declared once, as a field of its feature's settings dataclass (settings.py): the CLI's
flags, the page's controls and the API's parameters all read their default, range and help from it, so
they cannot drift apart. Compared here on the served app, its API description and the CLI's parser."""

from __future__ import annotations

import pytest
import requests
from gradio_client import Client

from distilbert_demo import cli, settings
from distilbert_demo.bench.core import BenchSettings
from distilbert_demo.distill.recipe import DistillConfig, bf16_is_fast
from distilbert_demo.evaluate.core import EvaluateSettings
from distilbert_demo.explain.core import ExplainSettings
from distilbert_demo.ladder.core import LadderSettings

CASES = [  # dataclass, CLI subcommand, API endpoint, the page controls' id prefix, how many the page offers
    (DistillConfig, "distill", "/distill", "distill", 11),
    (BenchSettings, "bench", "/bench", "bench", 6),
    (ExplainSettings, "explain", "/explain", "explain", 2),
    (LadderSettings, "ladder", "/ladder", "ladder", 3),
    (EvaluateSettings, "evaluate", "/evaluate", "evaluate", 0),  # the page runs with the defaults
]
REQUIRED = {"distill": ["--out", "student"]}  # flags a subcommand cannot parse without


@pytest.fixture(scope="module")
def served(launched_app):
    api = Client(launched_app, verbose=False, download_files=False).view_api(print_info=False, return_format="dict")
    config = requests.get(launched_app.rstrip("/") + "/config", timeout=30).json()
    controls = {c["props"].get("elem_id"): c["props"] for c in config["components"] if c["props"].get("elem_id")}
    return api["named_endpoints"], controls


def _flag_help(subcommand: str) -> dict:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command" or a.choices and subcommand in a.choices)
    return {action.dest: action for action in sub.choices[subcommand]._actions}


@pytest.mark.parametrize(("cls", "subcommand", "endpoint", "prefix", "offered"), CASES, ids=[c[1] for c in CASES])
def test_the_cli_the_page_and_the_api_read_one_declaration(
    served, tiny_store, cls, subcommand, endpoint, prefix, offered
):
    endpoints, controls = served
    parameters = {p["parameter_name"]: p for p in endpoints[endpoint]["parameters"]}
    flags = _flag_help(subcommand)
    parsed = vars(cli.build_parser().parse_args([subcommand, *REQUIRED.get(subcommand, [])]))
    on_page = 0
    for name, (field, kind) in settings.fields(cls).items():
        meta = field.metadata
        if meta["cli"]:  # the CLI: its default and its help
            default = settings.default_of(field)
            got = parsed[name]
            assert (settings.int_list(got, name) if kind == list[int] else got) == default, (subcommand, name)
            assert meta["help"] in flags[name].help, (subcommand, name)
        control = controls.get(f"{prefix}-{name.replace('_', '-')}")
        if control is None:  # not offered on the page (an internal knob, or CLI only)
            continue
        on_page += 1
        page_default = settings.page_default_of(field)
        if (prefix, name) == ("distill", "bf16"):  # declared as the page's one machine-dependent default
            page_default = bf16_is_fast(tiny_store.device)
        assert control["value"] == page_default, (prefix, name)
        assert control["label"] == settings.label_of(field), (prefix, name)
        if meta["maximum"] is not None:
            assert (control["minimum"], control["maximum"]) == (meta["minimum"], meta["maximum"]), (prefix, name)
        if name in parameters:  # the API: the same default as the page's control
            assert parameters[name]["parameter_default"] == page_default, (endpoint, name)
    assert on_page == offered  # the controls compared are the ones the page offers
