"""Quiet by default: the third-party warnings a user of ``hil`` cannot act on, hidden by message and module.

Each entry names the library, what it says and why it is noise here; ``hil --verbose`` shows them all.
Warnings that are ours are fixed at their cause, not listed here. The test suite keeps the same list
in ``pyproject.toml`` (``filterwarnings``), where each entry says the same why.
"""

from __future__ import annotations

import logging
import warnings

#: (category, message regex, module regex) for :func:`warnings.filterwarnings`.
WARNINGS: tuple[tuple[type[Warning], str, str], ...] = (
    # torch's dynamo ONNX exporter pickles pytree specs through copyreg; torch itself still uses the
    # deprecated LeafSpec check (torch 2.13). Nothing a caller of torch.onnx.export can change.
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated", r"copyreg|torch\..*"),
    # The exporter reports that two inputs share one dynamic axis name ("batch" of the frame and of the
    # hidden state) — which is what the step models mean: both have the same batch size.
    (UserWarning, r"# The axis name: \w+ will not be used, since it shares the same shape constraints",
     r"torch\.onnx\..*"),
)

#: (logger name, message prefix): log records of libraries, dropped by a filter on that logger.
LOG_RECORDS: tuple[tuple[str, str], ...] = (
    # The exporter registers torchvision's ONNX ops when torchvision is importable, and says so four times
    # when it is not; spin-hil exports no torchvision op.
    ("torch.onnx._internal.exporter._registration", "torchvision is not installed"),
    # onnxruntime's dynamic quantiser (``--int8``) logs this on the root logger for every model; the
    # pre-processing (shape inference + optimisation) it suggests does not apply to our recurrent step model,
    # whose int8 parity is measured in benchmarks/RESULTS.md.
    ("", "Please consider to run pre-processing before quantization"),
)


class _DropPrefix(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return not str(record.getMessage()).startswith(self.prefix)
        except Exception:  # a malformed record is not ours to judge
            return True


_installed: list[tuple[logging.Logger, logging.Filter]] = []


def install(verbose: bool = False) -> None:
    """Hide the listed third-party warnings and log records (nothing when ``verbose``). Idempotent."""
    if verbose or _installed:
        return
    for category, message, module in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    for name, prefix in LOG_RECORDS:
        logger = logging.getLogger(name)
        f = _DropPrefix(prefix)
        logger.addFilter(f)
        _installed.append((logger, f))


def uninstall() -> None:
    """Remove the log filters (the warning filters go with ``warnings.catch_warnings``)."""
    while _installed:
        logger, f = _installed.pop()
        logger.removeFilter(f)
