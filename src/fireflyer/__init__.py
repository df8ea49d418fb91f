"""fireflyer: an operations suite for DeepSeek's open MoE training and serving infrastructure.

Every command of the ``flyer`` CLI is a library call first: ``fireflyer.profiles``, ``fireflyer.eplb``,
``fireflyer.pipeline`` and the rest are importable and usable without the CLI.

The shared layer every group stands on: ``errors`` (typed errors, exit codes), ``io`` (input files with
errors naming the file and field, atomic writes), ``timing`` (the one timing protocol), ``host`` (facts
about this machine), ``device`` (the one place that chooses a torch device), ``trace_events`` (the
Chrome/Perfetto trace-event model) and ``cluster`` (ranks and hosts beyond this process).
"""

# NOTE: the one place the version is written; pyproject.toml reads it from here.
__version__ = "0.2.0"

from .errors import CheckFailed, FireflyerError, InputError  # noqa: E402

__all__ = ["CheckFailed", "FireflyerError", "InputError", "__version__"]
