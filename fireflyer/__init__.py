"""fireflyer: an operations suite for DeepSeek's open MoE training and serving infrastructure.

Every command of the ``flyer`` CLI is a library call first: ``fireflyer.profiles``, ``fireflyer.eplb``,
``fireflyer.pipeline`` and the rest are importable and usable without the CLI.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fireflyer")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from .errors import CheckFailed, FireflyerError, InputError

__all__ = ["CheckFailed", "FireflyerError", "InputError", "__version__"]
