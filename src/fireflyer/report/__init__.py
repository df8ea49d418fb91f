"""One self-contained HTML page from the JSON documents flyer's commands print with ``--json``: each
document recognised by the record it decodes into strictly, drawn with its chart, its key table and the
command that made it. No network: inline SVG and CSS, the system's fonts."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:  # NOTE: the names attach() serves, for type checkers (tests/shared/test_lazy.py)
    from .page import Candidate as Candidate
    from .page import Entry as Entry
    from .page import ReportWritten as ReportWritten
    from .page import Section as Section
    from .page import Table as Table
    from .page import html as html
    from .page import recognise as recognise
    from .page import write as write

__getattr__, __dir__, __all__ = attach(
    __name__,
    {"page": ["Candidate", "Entry", "ReportWritten", "Section", "Table", "html", "recognise", "write"]},
)
