"""Gates as JUnit XML, the report format CI systems show (GitHub's reporters, GitLab, Jenkins, Buildkite).

A gate's library result gives its ``Check`` list (one per case, layer, threshold or check: the figure, the
limit, why it failed); ``write_junit`` writes them, atomically, as one ``<testsuite>`` in the form the Ant
JUnit schema requires (``properties``, ``system-out`` and ``system-err`` present, a timestamp without a
zone, the host name). A check that passed is a bare ``<testcase>``, one that failed has a ``<failure>``
with the figure and the limit, one that was not run a ``<skipped>``.
"""

from __future__ import annotations

import datetime
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec

from .io import atomic_write


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One testcase of a gate."""

    name: str
    """The case, layer, threshold or check, e.g. ``mla torch (b=64 s_k=4096)``."""
    classname: str
    """Dotted group, e.g. ``kernels.compare.mla``: CI systems group testcases by it."""
    passed: bool | None
    """None: not run (skipped, and why in ``message``)."""
    figure: float | None = None
    limit: float | None = None
    unit: str = ""
    message: str = ""
    """Why it failed or was skipped, in one line."""
    seconds: float = 0.0


# NOTE: XML 1.0 admits no control characters but tab, newline and carriage return; ElementTree writes them
# as they are, and every JUnit reader then refuses the whole file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(s: str) -> str:
    return _NOT_XML.sub("?", s)


def _token(s: str) -> str:
    """An xs:token (names and class names): no tabs or line breaks, single spaces, none at either end."""
    return " ".join(_text(s).split()) or "-"


def _number(v: float | None, unit: str) -> str:
    return "-" if v is None else f"{v:.6g}{' ' + unit if unit else ''}"


def _stamp() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH's time where it is set (reproducible reports)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        if epoch.isdigit()
        else datetime.datetime.now(datetime.timezone.utc)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def junit_document(
    suite: str, checks: Sequence[Check], *, properties: Iterable[tuple[str, str]] = (), host: str = ""
) -> bytes:
    """The JUnit XML of one gate run: a ``<testsuite>`` named ``suite`` holding ``checks`` in their order."""
    from . import host as _host

    failed = sum(c.passed is False for c in checks)
    skipped = sum(c.passed is None for c in checks)
    root = ET.Element(
        "testsuite",
        {
            "name": _token(suite),
            "timestamp": _stamp(),
            "hostname": _token(host or _host.hostname()),
            "tests": str(len(checks)),
            "failures": str(failed),
            "errors": "0",
            "skipped": str(skipped),
            "time": f"{sum(c.seconds for c in checks):.3f}",
        },
    )
    props = ET.SubElement(root, "properties")
    for k, v in properties:
        ET.SubElement(props, "property", {"name": _token(k), "value": _text(v)})
    for c in checks:
        case = ET.SubElement(
            root,
            "testcase",
            {"name": _token(c.name), "classname": _token(c.classname), "time": f"{c.seconds:.3f}"},
        )
        if c.passed is None:
            ET.SubElement(case, "skipped", {"message": _text(c.message)} if c.message else {})
        elif not c.passed:
            what = f"{_number(c.figure, c.unit)} against the limit {_number(c.limit, c.unit)}"
            message = f"{c.message}: {what}" if c.message else what
            failure = ET.SubElement(case, "failure", {"message": _text(message), "type": "threshold"})
            failure.text = _text(
                f"figure: {_number(c.figure, c.unit)}\nlimit: {_number(c.limit, c.unit)}\n{c.message}\n"
            )
    ET.SubElement(root, "system-out").text = ""
    ET.SubElement(root, "system-err").text = ""
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(
    path: str | os.PathLike | None,
    suite: str,
    checks: Sequence[Check],
    *,
    properties: Iterable[tuple[str, str]] = (),
) -> Path | None:
    """Write ``junit_document`` to ``path`` atomically (readers see the old report or the new one); nothing
    where ``path`` is None (no ``--junit`` given)."""
    if path is None:
        return None
    return atomic_write(path, junit_document(suite, checks, properties=properties))
