"""`flyer report`: each --json document recognised by its record (strictly: an unknown key anywhere refuses
it), the page self-contained (no URL of any kind) and deterministic, bad inputs exit 2 naming the file."""

from __future__ import annotations

import json
import re

import msgspec
import pytest

from fireflyer.commands.views import report as view
from fireflyer.report import ReportWritten, recognise
from fireflyer.trace import synthetic
from tests.conftest import run_flyer


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("results")
    synthetic.generate_ranks(d / "a", 4, steps=2, straggler=1, slow=1.5)
    synthetic.generate_ranks(d / "b", 4, steps=2, seed=1)
    runs = {
        "analyze.json": ["trace", "analyze", str(d / "a")],
        "diff.json": ["trace", "diff", str(d / "a"), str(d / "b")],
        "compare.json": ["pipeline", "compare", "-p", "4", "-n", "8"],
        "sweep.json": ["pipeline", "sweep", "--ranks", "4", "-n", "8,16"],
        "simulate.json": ["pipeline", "simulate", "-p", "4", "-n", "8"],
    }
    for name, argv in runs.items():
        res = run_flyer(*argv, "--json")
        assert res.returncode == 0, res.stderr
        (d / name).write_text(res.stdout)
    return d


def test_each_document_is_recognised_as_the_command_that_made_it(results):
    known = view.candidates()
    want = {
        "analyze.json": "flyer trace analyze",
        "diff.json": "flyer trace diff",
        "compare.json": "flyer pipeline compare",
        "sweep.json": "flyer pipeline sweep",
        "simulate.json": "flyer pipeline simulate",
    }
    for name, command in want.items():
        found, _ = recognise(results / name, known)
        assert found[0].name == command, name


@pytest.mark.parametrize(
    "text",
    ["not json", "[1, 2]", '{"a": 1}', "{}"],
    ids=["not-json", "a-list", "no-record", "empty"],
)
def test_a_document_of_no_command_exits_2_naming_it(tmp_path, text):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    res = run_flyer("report", str(bad), "--out", str(tmp_path / "r.html"))
    assert res.returncode == 2 and str(bad) in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r.html").exists()


def test_an_unknown_key_at_any_depth_refuses_the_document(results, tmp_path):
    """Trace records do not forbid unknown fields themselves; the report's check does, at every level."""
    doc = json.loads((results / "analyze.json").read_text())
    doc["summary"]["extra"] = 1
    bad = tmp_path / "extra.json"
    bad.write_text(json.dumps(doc))
    res = run_flyer("report", str(bad), "--out", str(tmp_path / "r.html"))
    assert res.returncode == 2 and "extra.json" in res.stderr


def test_the_page_is_self_contained_deterministic_and_listed_in_json(results, tmp_path):
    docs = [
        str(results / n) for n in ("analyze.json", "diff.json", "compare.json", "sweep.json", "simulate.json")
    ]
    res = run_flyer("report", *docs, "--out", str(tmp_path / "one.html"), "--json")
    assert res.returncode == 0, res.stderr
    written = msgspec.json.decode(res.stdout, type=ReportWritten)
    assert [e.chart for e in written.sections] == [True, True, True, True, False]
    page = (tmp_path / "one.html").read_text()
    assert written.bytes == len(page.encode())
    assert page.count("<svg") == 4 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    # nothing to fetch: no URL in any src, href, url() or @import; links only to the page's own anchors
    assert not re.search(r"https?:|//[a-z]|@import|<script|<link|<img", page, re.I)
    assert all(v.startswith("#") for v in re.findall(r'(?:src|href)="([^"]*)"', page))
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # two charts never share an id
    assert "flyer trace analyze" in page and "straggler" in page
    again = run_flyer("report", *docs, "--out", str(tmp_path / "two.html"))
    assert again.returncode == 0 and (tmp_path / "two.html").read_bytes() == page.encode()


def test_the_page_never_replaces_an_input(results):
    doc = str(results / "compare.json")
    res = run_flyer("report", doc, "--out", doc)
    assert res.returncode == 2 and json.loads((results / "compare.json").read_text())
