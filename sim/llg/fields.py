"""External fields of a batch, evaluated on blocks of time points.

A batch field maps times (n,) in s to fields (n, B, 3) in T. Pulses are
evaluated vectorised; arbitrary callables t → (3,) (the pulse-generator
twin through its coil calibration) one time point at a time, unless the
callable also offers ``many(times) → (n, 3)`` (a sampled waveform), which
is then used instead: long traces spend their time in the LLG, not in
Python calls of the field. Every value
is checked for shape and finiteness here, once, before the kernels see it.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .errors import LLGInputError
from .params import Pulse


class BatchField:
    """Fields of B samples, each a :class:`Pulse` or a callable t → (3,) in T."""

    def __init__(self, sources: Sequence[Pulse | Callable[[float], np.ndarray]]):
        self.sources = list(sources)
        for i, s in enumerate(self.sources):
            if not callable(s):
                raise LLGInputError(f"field of sample {i} must be a Pulse or a callable t → (3,) T, got {s!r}")
        self._pulses = all(isinstance(s, Pulse) for s in self.sources)
        if self._pulses:
            self._dir = np.stack([p.direction for p in self.sources])  # (B, 3)

    def __len__(self) -> int:
        return len(self.sources)

    def __call__(self, times) -> np.ndarray:
        """Fields (n, B, 3) in T at ``times`` (n,) s."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        if self._pulses:
            env = np.stack([p.envelope(times) for p in self.sources], axis=1)  # (n, B)
            return env[:, :, None] * self._dir[None]
        out = np.empty((len(times), len(self.sources), 3))
        for j, src in enumerate(self.sources):
            many = getattr(src, "many", None)
            if many is not None:
                out[:, j] = self._checked_many(many(times), j, times)
                continue
            for k, t in enumerate(times):
                out[k, j] = self._checked(src(float(t)), j, t)
        return out

    @staticmethod
    def _checked(value, j: int, t: float) -> np.ndarray:
        try:
            b = np.asarray(value, dtype=float).reshape(3)
        except (TypeError, ValueError):
            raise LLGInputError(
                f"field of sample {j} at t = {t:.4g} s must be a 3-vector in T, got {value!r}") from None
        if not np.all(np.isfinite(b)):
            raise LLGInputError(f"field of sample {j} at t = {t:.4g} s is not finite: {b}")
        return b

    @staticmethod
    def _checked_many(values, j: int, times: np.ndarray) -> np.ndarray:
        b = np.asarray(values, dtype=float)
        if b.shape != (len(times), 3):
            raise LLGInputError(f"field of sample {j}: many(times) must give ({len(times)}, 3) in T, got {b.shape}")
        bad = ~np.all(np.isfinite(b), axis=1)
        if bad.any():
            t = times[int(np.argmax(bad))]
            raise LLGInputError(f"field of sample {j} at t = {t:.4g} s is not finite")
        return b

    def end_time(self) -> float | None:
        """When every pulse is over (5 t_w after its centre), or None for callables."""
        if not self._pulses:
            return None
        return max(p.end_time() for p in self.sources)
