"""A compiled CPU rollout of a trained Spin-NODE (numba), for batch-1 speed.

The network is tiny (≈ 3 000 multiply-adds and 2n ``tanh`` per derivative), so
torch and onnxruntime spend most of a step in per-operation overhead. The same
RK4 step as :meth:`SpinNODE.step`, written as loops and compiled once
(``cache=True``: later processes load it from ``__pycache__``; every function is
module-level, as numba's cache cannot key closures), removes that overhead. What
is left is arithmetic, laid out so that it vectorises (AVX2):

- the hidden width is padded to a multiple of 4 with zero weights (a padded unit
  is tanh(0) = 0 and feeds nothing);
- layer 1 is stored transposed (input-major), so it is a few contiguous axpys;
  layer 2 is row-major dot products, four rows per pass (independent sums);
- ``tanh`` is computed here: e^−2|x| − 1 by a Taylor series in Estrin's form
  times a power of two built from the exponent bits, branch-free, so a whole
  layer's activations vectorise (libm's scalar ``tanh``, ≈ 10 ns a call, was
  most of the old kernel's time). Error within 2.2 ulp (checked on 2·10⁶ points);
- buffers are allocated once per call; no Python runs per sample.

float64 (default; fastmath reassociates the dot products, ≈ 1e-16) or float32
(as a float32 model runs in torch and onnxruntime, ≈ 1e-7). Both are checked
against the torch rollout in the tests.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_PAD = 4  # hidden width rounded up to this (an AVX2 vector of doubles; half of one of floats)
# no "reassoc" in tanh: the Cody–Waite split of x·log2(e) must be evaluated as written
_EXACT = {"nnan", "ninf", "nsz", "contract"}


@intrinsic
def _f64_from_bits(typingctx, bits):
    """The float64 with these 64 bits (a bitcast; vectorises)."""
    if bits != types.int64:
        return None
    return types.float64(types.int64), lambda context, builder, sig, args: builder.bitcast(args[0], ir.DoubleType())


@intrinsic
def _f32_from_bits(typingctx, bits):
    """The float32 with the low 32 of these bits (a bitcast; vectorises)."""
    if bits != types.int64:
        return None
    return types.float32(types.int64), lambda context, builder, sig, args: builder.bitcast(
        builder.trunc(args[0], ir.IntType(32)), ir.FloatType())


@numba.njit(cache=True, fastmath=_EXACT, error_model="numpy")
def _tanh64(x):
    a = min(abs(x), 20.0)  # tanh(20) = 1 − 8e-18: 1.0 in float64
    y = -2.0 * a           # e^y, y in [−40, 0]
    n = np.floor(y * 1.4426950408889634 + 0.5)
    r = (y - n * 0.6931471803691238) - n * 1.9082149292705877e-10  # |r| ≤ ln2/2
    # exp(r) − 1 by its Taylor series to r¹³ (error < 2e-16), Estrin's scheme: short dependency chains
    r2 = r * r
    r4 = r2 * r2
    q = (r + (0.5 + r * (1.0 / 6.0)) * r2) + ((1.0 / 24.0 + r * (1.0 / 120.0))
                                             + (1.0 / 720.0 + r * (1.0 / 5040.0)) * r2) * r4
    q = q + (((1.0 / 40320.0 + r * (1.0 / 362880.0)) + (1.0 / 3628800.0 + r * (1.0 / 39916800.0)) * r2)
             + (1.0 / 479001600.0 + r * (1.0 / 6227020800.0)) * r4) * (r4 * r4)
    scale = _f64_from_bits((np.int64(np.int32(n)) + 1023) << 52)  # 2ⁿ
    em1 = scale * q + (scale - 1.0)  # e^y − 1, no cancellation near 0
    t = -em1 / (2.0 + em1)  # tanh(a) = (1 − e^−2a) / (1 + e^−2a)
    return t if x >= 0 else -t


_F = np.float32
_CLIP, _M2, _LOG2E, _HALF, _LN2HI, _LN2LO = _F(9.0), _F(-2.0), _F(1.442695), _F(0.5), _F(0.693359375), _F(-2.12194440e-4)
_C7, _C6, _C5, _C4, _C3, _ONE, _TWO = _F(1 / 5040), _F(1 / 720), _F(1 / 120), _F(1 / 24), _F(1 / 6), _F(1.0), _F(2.0)


@numba.njit(cache=True, fastmath=_EXACT, error_model="numpy")
def _tanh32(x):
    a = min(abs(x), _CLIP)  # tanh(9) = 1 − 3e-8: 1.0 in float32
    y = _M2 * a
    n = np.floor(y * _LOG2E + _HALF)
    r = (y - n * _LN2HI) - n * _LN2LO
    r2 = r * r  # exp(r) − 1 by its Taylor series to r⁷ (error < 1e-8), Estrin's scheme
    q = (r + (_HALF + r * _C3) * r2) + ((_C4 + r * _C5) + (_C6 + r * _C7) * r2) * (r2 * r2)
    scale = _f32_from_bits((np.int64(np.int32(n)) + 127) << 23)  # 2ⁿ
    em1 = scale * q + (scale - _ONE)
    t = -em1 / (_TWO + em1)
    return t if x >= 0 else -t


def _tanh(x):  # the compiled code's tanh, by the type of x
    raise NotImplementedError


@overload(_tanh, jit_options={"fastmath": _EXACT, "error_model": "numpy"})
def _tanh_overload(x):
    if x == types.float64:
        return lambda x: _tanh64(x)
    if x == types.float32:
        return lambda x: _tanh32(x)
    return None


@numba.njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _deriv(z, w1t, b1, w2, b2, w3, b3, wl, h1, h2, out):
    """out = W3 tanh(W2 tanh(W1 z + b1) + b2) + b3 (+ Wl z)."""
    n = b1.shape[0]
    for i in range(n):
        h1[i] = b1[i]
    for j in range(z.shape[0]):
        zj = z[j]
        for i in range(n):
            h1[i] += w1t[j, i] * zj
    for i in range(n):
        h1[i] = _tanh(h1[i])
    for i in range(0, n, 4):  # four rows at a time: four independent sums per pass over h1
        a0, a1, a2, a3 = b2[i], b2[i + 1], b2[i + 2], b2[i + 3]
        for j in range(n):
            hj = h1[j]
            a0 += w2[i, j] * hj
            a1 += w2[i + 1, j] * hj
            a2 += w2[i + 2, j] * hj
            a3 += w2[i + 3, j] * hj
        h2[i], h2[i + 1], h2[i + 2], h2[i + 3] = a0, a1, a2, a3
    for i in range(n):
        h2[i] = _tanh(h2[i])
    for o in range(out.shape[0]):
        acc = b3[o]
        for j in range(n):
            acc += w3[o, j] * h2[j]
        for j in range(wl.shape[1]):
            acc += wl[o, j] * z[j]
        out[o] = acc


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _rollout(s0, u, w1t, b1, w2, b2, w3, b3, wl, half, two, sixth):
    """States (B, N, k) from s0 (B, k) under inputs u (B, N, m); half, two, sixth: constants of the dtype."""
    nb, k = s0.shape
    n_in, n = w1t.shape
    nu, m = u.shape[1], u.shape[2]
    steps = nu - 1
    dt = s0.dtype
    out = np.empty((nb, steps + 1, k), dt)
    z = np.empty(n_in, dt)
    h1 = np.empty(n, dt)
    h2 = np.empty(n, dt)
    d1, d2, d3, d4 = np.empty(k, dt), np.empty(k, dt), np.empty(k, dt), np.empty(k, dt)
    s = np.empty(k, dt)
    uw = np.empty((k + 1, m), dt)  # the inputs of one step, u[i … i+k]
    for b in range(nb):
        for j in range(k):
            s[j] = s0[b, j]
            out[b, 0, j] = s[j]
        for i in range(steps):
            for j in range(k + 1):  # the last k−1 delays run past the inputs: hold the last (as SpinNODE.rollout)
                for q in range(m):
                    uw[j, q] = u[b, min(i + j, nu - 1), q]
            # stage 1: s, u[i … i+k−1]
            for j in range(k):
                z[j] = s[j]
                for q in range(m):
                    z[k + j * m + q] = uw[j, q]
            _deriv(z, w1t, b1, w2, b2, w3, b3, wl, h1, h2, d1)
            # stages 2, 3: midpoints of the inputs
            for j in range(k):
                z[j] = s[j] + half * d1[j]
                for q in range(m):
                    z[k + j * m + q] = half * (uw[j, q] + uw[j + 1, q])
            _deriv(z, w1t, b1, w2, b2, w3, b3, wl, h1, h2, d2)
            for j in range(k):
                z[j] = s[j] + half * d2[j]
            _deriv(z, w1t, b1, w2, b2, w3, b3, wl, h1, h2, d3)
            # stage 4: u[i+1 … i+k]
            for j in range(k):
                z[j] = s[j] + d3[j]
                for q in range(m):
                    z[k + j * m + q] = uw[j + 1, q]
            _deriv(z, w1t, b1, w2, b2, w3, b3, wl, h1, h2, d4)
            for j in range(k):
                s[j] = s[j] + (d1[j] + two * d2[j] + two * d3[j] + d4[j]) * sixth
                out[b, i + 1, j] = s[j]
    return out


def padded_weights(model, dtype=np.float64) -> tuple[np.ndarray, ...]:
    """(W1ᵀ, b1, W2, b2, W3, b3, Wl), contiguous, the hidden width padded with zeros to a multiple of 4."""
    net = model.net
    get = lambda t: t.detach().double().numpy()  # noqa: E731
    w1, b1, w2, b2, w3, b3 = (get(net[0].weight), get(net[0].bias), get(net[2].weight), get(net[2].bias),
                              get(net[4].weight), get(net[4].bias))
    n, n_in = w1.shape
    p = -(-n // _PAD) * _PAD
    w1t = np.zeros((n_in, p))
    w1t[:, :n] = w1.T
    b1p, b2p = np.zeros(p), np.zeros(p)
    b1p[:n], b2p[:n] = b1, b2
    w2p = np.zeros((p, p))
    w2p[:n, :n] = w2
    w3p = np.zeros((w3.shape[0], p))
    w3p[:, :n] = w3
    wl = get(model.linear.weight) if model.linear is not None else np.zeros((model.embed, 0))
    return tuple(np.ascontiguousarray(a, dtype=dtype) for a in (w1t, b1p, w2p, b2p, w3p, b3, wl))


class FastRollout:
    """``rollout(s0 (B, k), u (B, N, m))`` → states (B, N, k), normalised units, as SpinNODE.rollout.

    dtype: the arithmetic, np.float64 (default; equal to a float64 torch rollout to ≈ 1e-15) or
    np.float32 (as a float32 model runs in torch and onnxruntime; ≈ 1e-7).
    """

    def __init__(self, model, dtype=np.float64):
        self.k = model.embed
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float64, np.float32):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}")
        self.weights = padded_weights(model, self.dtype)
        assert self.weights[0].shape[0] == model.embed + model.embed * model.n_inputs
        self.constants = tuple(self.dtype.type(c) for c in (0.5, 2.0, 1.0 / 6.0))

    def rollout(self, s0: np.ndarray, u: np.ndarray) -> np.ndarray:
        return _rollout(np.ascontiguousarray(s0, dtype=self.dtype), np.ascontiguousarray(u, dtype=self.dtype),
                        *self.weights, *self.constants)
