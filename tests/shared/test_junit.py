"""``--junit FILE`` on every gate: one testcase per case, threshold or check, failures with the figure and the
limit, written atomically; each file is validated against the Ant JUnit schema CI systems read (Windy Road's
JUnit.xsd, Apache 2.0, from the shared fixtures; skipped without it) and read back with junitparser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fireflyer import gates
from fireflyer.fs3 import assess
from fireflyer.fs3.bench.suite import SuiteResult
from fireflyer.fs3.bench.thresholds import Verdict
from fireflyer.kernels import results

from ..conftest import FIXTURES
from ..eplb.helpers import cli
from ..fs3.test_health import CHAINS, NODES, OFFLINE
from ..kernels.test_results import document, result

XSD = FIXTURES / "junit" / "JUnit.xsd"


def read(path: Path):
    """The report, checked against the schema and parsed by a JUnit reader; (suite, {name: case})."""
    junitparser = pytest.importorskip("junitparser", reason="pip install junitparser (the dev extra)")
    if XSD.exists():
        xmlschema = pytest.importorskip("xmlschema", reason="pip install xmlschema (the dev extra)")
        xmlschema.XMLSchema(str(XSD)).validate(str(path))
    suite = junitparser.JUnitXml.fromfile(str(path))
    if not isinstance(suite, junitparser.TestSuite):  # junitparser wraps a lone <testsuite>
        (suite,) = list(suite)
    cases = {f"{c.classname}/{c.name}": c for c in suite}
    assert suite.tests == len(cases)
    return suite, cases


def failed(case) -> bool:
    return any(type(r).__name__ == "Failure" for r in case.result)


def test_schema_is_present_or_skipped_with_reason():
    if not XSD.exists():
        pytest.skip(f"{XSD} is absent: reports are read with junitparser only")


def test_names_and_text_are_made_valid(tmp_path):
    checks = [
        gates.Check(name="a\tb\n  c", classname="x", passed=False, figure=1.5, limit=1.0, message="bad\x00"),
        gates.Check(name="", classname="x", passed=None, message="not run"),
        gates.Check(name="ok", classname="x", passed=True, seconds=0.25),
    ]
    out = gates.write_junit(tmp_path / "r.xml", "flyer test", checks)
    suite, cases = read(out)
    assert suite.failures == 1 and suite.skipped == 1 and set(cases) == {"x/a b c", "x/-", "x/ok"}
    assert "1.5 against the limit 1" in cases["x/a b c"].result[0].message


def test_kernels_compare(tmp_path):
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    base.write_text(json.dumps(document(result(100.0), result(100.0, m=128))))
    cur.write_text(json.dumps(document(result(130.0), result(99.0, m=128))))
    r = cli("kernels", "compare", base, cur, "--junit", tmp_path / "gate.xml")
    assert r.returncode == 1
    suite, cases = read(tmp_path / "gate.xml")
    assert suite.tests == 2 and suite.failures == 1
    bad = [c for c in cases.values() if failed(c)]
    assert (
        bad[0].classname == "kernels.compare.gemm.torch"
        and "slower than the baseline: 30 % against the limit 5 %" in bad[0].result[0].message
    )


def test_kernels_bench_correctness():
    report = results.Report(**{**document(result(correct=False), result(m=128)), "results": []})
    report.results = [results.Result(**result(correct=False)), results.Result(**result(m=128))]
    checks = report.checks()
    assert [c.passed for c in checks if c.name.endswith("correct")] == [False, True]


def test_kernels_bench_report_is_valid(tmp_path):
    report = results.Report(**{**document(), "results": []})
    report.results = [results.Result(**result(correct=False)), results.Result(**result(m=128))]
    _, cases = read(gates.write_junit(tmp_path / "b.xml", "flyer kernels bench", report.checks()))
    assert sum(failed(c) for c in cases.values()) == 1


def test_eplb_evaluate(tmp_path):
    load, plan = tmp_path / "load.npy", tmp_path / "plan.json"
    assert cli("eplb", "sample", "--out", load).returncode == 0
    assert cli("eplb", "plan", load, "--model", "deepseek-v3", "--out", plan).returncode == 0
    r = cli("eplb", "evaluate", plan, load, "--model", "deepseek-v3", "--max-imbalance", "1", "--junit",
            tmp_path / "e.xml")  # fmt: skip
    assert r.returncode == 1
    suite, cases = read(tmp_path / "e.xml")
    (case,) = cases.values()
    assert failed(case) and "worst layers: layer" in case.result[0].message
    r = cli("eplb", "evaluate", plan, load, "--model", "deepseek-v3", "--max-imbalance", "9", "--junit",
            tmp_path / "e.xml")  # fmt: skip
    assert r.returncode == 0 and read(tmp_path / "e.xml")[0].failures == 0


def test_fs3_status(tmp_path):
    for name, text in (("list-nodes", NODES), ("list-targets", OFFLINE), ("list-chains", CHAINS)):
        (tmp_path / f"{name}.txt").write_text(text)
    r = cli("fs3", "status", "--from", tmp_path, "--junit", tmp_path / "s.xml")
    assert r.returncode == 1
    suite, cases = read(tmp_path / "s.xml")
    bad = [k for k, c in cases.items() if failed(c)]
    assert bad and all(k.startswith("fs3.status.targets/target 101000200101") for k in bad)
    assert len(assess(NODES, OFFLINE, CHAINS).checks()) == suite.tests


def test_fs3_bench_all(tmp_path):
    verdicts = (
        Verdict(check="seq_read_gib_s", label="seq-read 4MiB", measured=3.0, unit="GiB/s", limit=10.0,
                maximum=False, published=None, share=None, status="fail", why="seq_read_gib_s >= 10: fail"),
        Verdict(check="rand_read_iops", label="rand-read 4KiB", measured=5e4, unit="IOPS", limit=None,
                maximum=False, published=None, share=None, status=None),
        Verdict(check="meta_create_ops_s", label="meta create", measured=3e4, unit="ops/s", limit=2e4,
                maximum=False, published=None, share=None, status="pass"),
    )  # fmt: skip
    suite_result = SuiteResult("/data", (), None, None, None, verdicts)  # type: ignore[arg-type]
    suite, cases = read(gates.write_junit(tmp_path / "f.xml", "flyer fs3 bench all", suite_result.checks()))
    assert (suite.tests, suite.failures, suite.skipped) == (3, 1, 1)
    assert "3 GiB/s against the limit 10 GiB/s" in cases["fs3.bench/seq_read_gib_s"].result[0].message


def test_pipeline_compare(tmp_path):
    r = cli("pipeline", "compare", "--junit", tmp_path / "p.xml")
    assert r.returncode == 0
    suite, cases = read(tmp_path / "p.xml")
    assert suite.failures == 0 and "pipeline.compare/dualpipe" in cases
