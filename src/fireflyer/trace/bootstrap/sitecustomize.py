"""fireflyer's start-up hook for `flyer trace capture` (this directory is first on the job's PYTHONPATH).

Python imports ``sitecustomize`` when it starts, in every process of the job. This one only watches for
``import torch``: processes that never import torch start as fast as ever. Once torch is in, it hands over
to ``fireflyer.trace.capturing.install_from_environ``, which hooks optimizer steps. Then it runs the
``sitecustomize`` it hides, if there is one.
"""

import os
import sys


def _report(error: BaseException) -> None:
    print(
        f"flyer trace: not profiling process {os.getpid()}: {type(error).__name__}: {error}", file=sys.stderr
    )


def _install() -> None:
    try:
        from fireflyer.trace import capturing
    except ImportError:
        # The job's Python does not see fireflyer on its own path: look where flyer runs from, last.
        where = os.environ.get("FLYER_TRACE_PATH")
        if not where or where in sys.path:
            raise
        sys.path.append(where)
        from fireflyer.trace import capturing
    capturing.install_from_environ()


class _AfterTorchImport:
    """A finder that lets ``import torch`` proceed as usual, then installs the capture (once)."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            try:
                _install()
            except Exception as e:  # noqa: BLE001 - the job goes on unprofiled
                _report(e)

        # NOTE: patching this one loader on purpose: torch's module runs, then the capture installs.
        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _chain() -> None:
    """Run the next sitecustomize on the path (a distribution's or a virtual environment's)."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


if os.environ.get("FLYER_TRACE_DIR"):
    if "torch" in sys.modules:
        try:
            _install()
        except Exception as e:  # noqa: BLE001
            _report(e)
    else:
        sys.meta_path.insert(0, _AfterTorchImport())
_chain()
