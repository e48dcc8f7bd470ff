"""The Heun step of :mod:`hil.sim.llg.kernels` as one fused numba loop nest (CPU).

Same physics, conventions and shapes as the torch kernels (spins (B, 3, L, L),
component axis 1; c* = 2X/μ_s in T; Landau–Lifshitz form with per-sample
γ dt/(1+α²) and α·γ dt/(1+α²); the same stochastic field in predictor and
corrector; renormalisation), checked against them in tests/test_llg_numba.py.
A step is two sweeps over the rows of a sample (predictor, then corrector,
which needs every predicted spin); many steps run inside one call, so Python
is entered once per block of steps.

Threads: the samples of a batch are spread over numba's pool, each thread
running every step of its samples (no barrier per step: see
:func:`_steps_parallel`); a single sample runs on one thread. The thread
count is limited per call (the Integrator passes ``torch.get_num_threads()``,
so one knob sets both). The threading layer is
set to OpenMP ('omp') when numba ships it and the user has not chosen one
(NUMBA_THREADING_LAYER): numba's default, workqueue, was erratic here and
aborts when two Python threads launch kernels at once. GNU OpenMP cannot be
used again in a child forked after it started, so a forked child runs the
serial build of the same loops (see :func:`_kernel`).

Thermal noise. Pre-generated noise (torch.randn, float32) costs 0.2 ms per
10⁴ spins per step here, more than the whole deterministic step, so the
numba backend draws it in the kernel from a counter-based generator: a
splitmix64 hash of (sample seed, step number, site, pair) → two 32-bit
uniforms → Box–Muller with polynomial log and sin/cos (relative error
< 1e-8, better than the float32 normals of the torch path; tails to
6.7 σ). A sample's noise depends only on its seed and the step number, not
on its batch, the thread count or how the run is split into calls. It is a
different stream from the torch backend's, so at T > 0 the two backends give
statistically equivalent, not identical, trajectories; a given noise tensor
(``noise=``) reproduces the torch path exactly.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

try:
    import numba
    from numba import config as _config
except ImportError:  # pragma: no cover - numba is a dependency; torch backend still works
    numba = None

AVAILABLE = numba is not None
THREADING_LAYER = None
if AVAILABLE and "NUMBA_THREADING_LAYER" not in os.environ and _config.THREADING_LAYER == "default":
    try:
        from numba.np.ufunc import omppool  # noqa: F401  (only to see that it loads)
        _config.THREADING_LAYER = "omp"
    except ImportError:
        pass  # numba picks tbb / omp / workqueue itself

if AVAILABLE:
    njit, prange = numba.njit, numba.prange
else:  # pragma: no cover
    def njit(*a, **k):
        return (lambda f: f) if not (a and callable(a[0])) else a[0]
    prange = range

#: contract (FMA), arcp, nsz: 15–20 % faster; results stay within 1e-15 of
#: the torch step per step (no reassociation, no finite-math assumptions)
_FASTMATH = {"contract", "arcp", "nsz"}
_U = np.uint64
_GOLDEN = _U(0x9E3779B97F4A7C15)
_M1 = _U(0xBF58476D1CE4E5B9)
_M2 = _U(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = _U(30), _U(27), _U(31), _U(32)
_LOW32 = _U(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0
_TWO31 = 2147483648.0
_I2_31 = np.int64(2147483648)
_LN2 = math.log(2.0)
_SQRT_HALF = math.sqrt(0.5)


# -- random numbers ------------------------------------------------------------------
@njit(inline="always", cache=True)
def _mix(z):
    """splitmix64's output function (uint64 → uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always", cache=True)
def _u32(h):
    """A uint64 < 2^32 as float64 through int32 (a conversion AVX2 has)."""
    return np.float64(np.int32(np.int64(h) - _I2_31)) + _TWO31


@njit(inline="always", cache=True)
def _gauss_pair(h):
    """Two independent standard normals from one 64-bit hash (Box–Muller).

    ln and sin/cos are polynomials (no libm calls) so the loop vectorises.
    """
    u = (_u32(h >> _S32) + 1.0) * _INV32      # (0, 1]
    a = _u32(h & _LOW32) * _INV32             # [0, 1)
    # ln u: scale u into [0.5, 1] counting powers of two, then [√½, √2)
    e = 0.0
    c = u < 1.52587890625e-05                 # 2^-16
    u = u * 65536.0 if c else u
    e = e + 16.0 if c else e
    c = u < 0.00390625                        # 2^-8
    u = u * 256.0 if c else u
    e = e + 8.0 if c else e
    c = u < 0.0625
    u = u * 16.0 if c else u
    e = e + 4.0 if c else e
    c = u < 0.25
    u = u * 4.0 if c else u
    e = e + 2.0 if c else e
    c = u < 0.5
    u = u * 2.0 if c else u
    e = e + 1.0 if c else e
    c = u < _SQRT_HALF
    u = u * 2.0 if c else u
    e = e + 1.0 if c else e
    s = (u - 1.0) / (u + 1.0)                 # |s| ≤ 0.172: ln u = 2 atanh s
    s2 = s * s
    lnu = 2.0 * s * (1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11))))))
    r = math.sqrt(-2.0 * (lnu - e * _LN2))
    # cos, sin of 2πa: Taylor at θ = 2πa/8 ∈ [0, π/4), then three angle doublings
    t = a * (math.pi / 4)
    t2 = t * t
    sn = t * (1.0 - t2 / 6 * (1.0 - t2 / 20 * (1.0 - t2 / 42 * (1.0 - t2 / 72 * (1.0 - t2 / 110)))))
    cs = 1.0 - t2 / 2 * (1.0 - t2 / 12 * (1.0 - t2 / 30 * (1.0 - t2 / 56 * (1.0 - t2 / 90 * (1.0 - t2 / 132)))))
    for _ in range(3):
        cs, sn = cs * cs - sn * sn, 2.0 * cs * sn
    return r * cs, r * sn


@njit(inline="always", cache=True)
def _stream(seed, step):
    """Per (sample seed, step) base counter of the site hashes."""
    return _mix(seed ^ _mix((step + _U(1)) * _GOLDEN))


@njit(inline="always", cache=True)
def _fill_noise_row(N, b, y, base, sig):
    """Standard normals × sig into N[b, :, y, :]: 3L numbers from 1.5L hashes.

    Pair 2i of row y feeds components x, y of site i; pair 2i+1 (i < L/2)
    component z of sites i and i + L/2 (contiguous writes, so it vectorises).
    """
    L = N.shape[3]
    n0, n1, n2 = N[b, 0, y], N[b, 1, y], N[b, 2, y]
    row = base + _U(y * L) * _U(2) * _GOLDEN
    for x in range(L):
        a0, a1 = _gauss_pair(_mix(row + _U(2 * x) * _GOLDEN))
        n0[x] = sig * a0
        n1[x] = sig * a1
    h = L // 2
    for x in range(h):
        a0, a1 = _gauss_pair(_mix(row + _U(2 * x + 1) * _GOLDEN))
        n2[x] = sig * a0
        n2[x + h] = sig * a1
    if L % 2 == 1:
        a0, _a1 = _gauss_pair(_mix(row + _U(2 * h + 1) * _GOLDEN))
        n2[L - 1] = sig * a0


@njit(cache=True)
def standard_normals(seed, step, B, L):
    """The kernel's noise for one step, unscaled: (B, 3, L, L) float64 (for tests)."""
    N = np.empty((B, 3, L, L))
    for b in range(B):
        base = _stream(seed[b], _U(step))
        for y in range(L):
            _fill_noise_row(N, b, y, base, 1.0)
    return N


# -- the step --------------------------------------------------------------------------
@njit(inline="always", cache=True)
def _increment(sx, sy, sz, xpx, xpy, xpz, xmx, xmy, xmz, ypx, ypy, ypz, ymx, ymy, ymz,
               bx, by, bz, cj, cd, ck, g, ga):
    """dt·dS/dt at one site from its four neighbours; (bx, by, bz) external + noise, T."""
    ex, ey, ez = xpx + xmx + ypx + ymx, xpy + xmy + ypy + ymy, xpz + xmz + ypz + ymz
    hx = cj * ex - cd * (ypz - ymz) + bx
    hy = cj * ey + cd * (xpz - xmz) + by
    hz = cj * ez + cd * ((ypx - ymx) - (xpy - xmy)) + ck * sz + bz
    cx = sy * hz - sz * hy
    cy = sz * hx - sx * hz
    cz = sx * hy - sy * hx
    return (-g * cx - ga * (sy * cz - sz * cy),
            -g * cy - ga * (sz * cx - sx * cz),
            -g * cz - ga * (sx * cy - sy * cx))


@njit(inline="always", cache=True)
def _site(A, P, S, D0, N, b, y, x, yp, ym, xp, xm, wyp, wym, wxp, wxm, fx, fy, fz, noisy,
          cj, cd, ck, g, ga, corrector):
    """Predictor (A = S) or corrector (A = predicted spins) at one site, in place."""
    if noisy:
        fx, fy, fz = fx + N[b, 0, y, x], fy + N[b, 1, y, x], fz + N[b, 2, y, x]
    ax, ay, az = A[b, 0, y, x], A[b, 1, y, x], A[b, 2, y, x]
    dx, dy, dz = _increment(
        ax, ay, az,
        wxp * A[b, 0, y, xp], wxp * A[b, 1, y, xp], wxp * A[b, 2, y, xp],
        wxm * A[b, 0, y, xm], wxm * A[b, 1, y, xm], wxm * A[b, 2, y, xm],
        wyp * A[b, 0, yp, x], wyp * A[b, 1, yp, x], wyp * A[b, 2, yp, x],
        wym * A[b, 0, ym, x], wym * A[b, 1, ym, x], wym * A[b, 2, ym, x],
        fx, fy, fz, cj, cd, ck, g, ga)
    if corrector:
        nx = S[b, 0, y, x] + 0.5 * (D0[b, 0, y, x] + dx)
        ny = S[b, 1, y, x] + 0.5 * (D0[b, 1, y, x] + dy)
        nz = S[b, 2, y, x] + 0.5 * (D0[b, 2, y, x] + dz)
        inv = 1.0 / math.sqrt(nx * nx + ny * ny + nz * nz)
        S[b, 0, y, x], S[b, 1, y, x], S[b, 2, y, x] = nx * inv, ny * inv, nz * inv
    else:
        D0[b, 0, y, x], D0[b, 1, y, x], D0[b, 2, y, x] = dx, dy, dz
        P[b, 0, y, x], P[b, 1, y, x], P[b, 2, y, x] = ax + dx, ay + dy, az + dz


@njit(inline="always", cache=True)
def _row(A, P, S, D0, N, b, y, fx, fy, fz, noisy, cj, cd, ck, g, ga, periodic, corrector):
    """One row of one sample: sites 1..L−2 branch-free (vectorised), then the two edges.

    Predictor: A = S and the predicted spins go to P; corrector: A = P.
    """
    L = A.shape[3]
    if y + 1 < L:
        yp, wyp = y + 1, 1.0
    else:
        yp, wyp = (0, 1.0) if periodic else (y, 0.0)
    if y > 0:
        ym, wym = y - 1, 1.0
    else:
        ym, wym = (L - 1, 1.0) if periodic else (y, 0.0)
    for x in range(1, L - 1):
        _site(A, P, S, D0, N, b, y, x, yp, ym, x + 1, x - 1, wyp, wym, 1.0, 1.0, fx, fy, fz, noisy,
              cj, cd, ck, g, ga, corrector)
    we = 1.0 if periodic else 0.0
    _site(A, P, S, D0, N, b, y, 0, yp, ym, 1, L - 1, wyp, wym, 1.0, we, fx, fy, fz, noisy,
          cj, cd, ck, g, ga, corrector)
    _site(A, P, S, D0, N, b, y, L - 1, yp, ym, 0, L - 2, wyp, wym, we, 1.0, fx, fy, fz, noisy,
          cj, cd, ck, g, ga, corrector)


@njit(inline="always", cache=True)
def _sample_steps(S, P, D0, N, Z, F, g, ga, cj, cd, ck, periodic, nsteps, mode, seeds, step0, sig, b):
    """``nsteps`` Heun steps of sample ``b`` of S (B, 3, L, L) in place.

    F (nsteps+1, B, 3) external field at the step boundaries, T; g, ga (B,)
    γdt/(1+α²) and α·γdt/(1+α²); mode 0 no noise, 1 given noise Z
    (nsteps, B, 3, L, L) in T, 2 in-kernel noise with per-sample σ ``sig``
    (T) from ``seeds`` (B,) uint64 and step numbers step0, step0+1, …
    P, D0, N are work arrays shaped like S (N unused in mode 0).
    """
    L = S.shape[2]
    noisy = mode != 0
    for k in range(nsteps):
        if mode == 2:
            base = _stream(seeds[b], step0 + _U(k))
        for y in range(L):
            if mode == 1:
                for c in range(3):
                    for x in range(L):
                        N[b, c, y, x] = Z[k, b, c, y, x]
            elif mode == 2:
                _fill_noise_row(N, b, y, base, sig[b])
            _row(S, P, S, D0, N, b, y, F[k, b, 0], F[k, b, 1], F[k, b, 2], noisy,
                 cj, cd, ck, g[b], ga[b], periodic, False)
        for y in range(L):
            _row(P, P, S, D0, N, b, y, F[k + 1, b, 0], F[k + 1, b, 1], F[k + 1, b, 2], noisy,
                 cj, cd, ck, g[b], ga[b], periodic, True)


@njit(parallel=True, cache=True, error_model="numpy", fastmath=_FASTMATH)
def _steps_parallel(S, P, D0, N, Z, F, g, ga, cj, cd, ck, periodic, nsteps, mode, seeds, step0, sig):
    """Samples spread over the thread pool; each thread runs every step of its samples.

    One fork/join per call and no barrier per step: a barrier per step
    (parallel rows) is 1.6× faster on an idle 2-core machine but 10–100×
    slower when other processes compete for the cores (measured here).
    Everything is inlined into the prange body on purpose: numba compiles
    that body with its array arguments marked non-aliasing, which lets LLVM
    vectorise the site loops — the same loops in an ordinary function run
    ≈ 8× slower. So one thread also runs this build (a pool of one).
    """
    for b in prange(S.shape[0]):
        _sample_steps(S, P, D0, N, Z, F, g, ga, cj, cd, ck, periodic, nsteps, mode, seeds, step0, sig, b)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _steps_serial(S, P, D0, N, Z, F, g, ga, cj, cd, ck, periodic, nsteps, mode, seeds, step0, sig):
    """The same without the thread pool, for a child forked after the pool started (≈ 8× slower)."""
    for b in range(S.shape[0]):
        _sample_steps(S, P, D0, N, Z, F, g, ga, cj, cd, ck, periodic, nsteps, mode, seeds, step0, sig, b)


#: pid of the process whose thread pool started; a forked child must not reuse it.
_POOL_PID: int | None = None


def _kernel(B: int, threads: int):
    """(kernel, threads) for B samples on at most ``threads`` threads.

    A child forked after the OpenMP pool started runs the serial build (GNU
    OpenMP is not fork-safe; numba would terminate the child).
    """
    global _POOL_PID
    threads = max(1, min(threads, B, numba.config.NUMBA_NUM_THREADS))
    if _POOL_PID is None:
        _POOL_PID = os.getpid()
    elif _POOL_PID != os.getpid() and threading_layer() == "omp":
        return _steps_serial, 1
    return _steps_parallel, threads


def threading_layer() -> str | None:
    """The layer numba runs on ('omp', 'tbb', 'workqueue'), None before the first parallel call."""
    try:
        return numba.threading_layer()
    except ValueError:
        return None


def advance(S: np.ndarray, fields: np.ndarray, g: np.ndarray, ga: np.ndarray, coef, periodic: bool,
            *, noise: np.ndarray | None = None, sigma: np.ndarray | None = None,
            seeds: np.ndarray | None = None, step0: int = 0, threads: int | None = None) -> None:
    """Advance S (B, 3, L, L), C-contiguous float64/float32, by len(fields)−1 steps in place.

    fields (n+1, B, 3) T at the step boundaries; g, ga (B,) the LL prefactors
    times dt; coef (2J/μ_s, 2D/μ_s, 2K/μ_s) T. Noise: ``noise`` (n, B, 3, L, L)
    in T (as the torch path draws it), or ``sigma`` (B,) T with ``seeds`` (B,)
    for the in-kernel generator starting at step number ``step0``, or neither.
    """
    if not AVAILABLE:
        raise RuntimeError("numba is not installed; use the torch backend")
    n = len(fields) - 1
    B = S.shape[0]
    if n <= 0:
        return
    if not S.flags.c_contiguous:
        raise ValueError("spins must be C-contiguous")
    fields = np.ascontiguousarray(fields, dtype=np.float64)
    g = np.ascontiguousarray(g, dtype=np.float64).reshape(B)
    ga = np.ascontiguousarray(ga, dtype=np.float64).reshape(B)
    P, D0 = np.empty_like(S), np.empty_like(S)
    if noise is not None:
        mode, Z, N = 1, np.ascontiguousarray(noise), np.empty_like(S)
        if Z.shape != (n,) + S.shape:
            raise ValueError(f"noise must have shape {(n,) + S.shape}, got {Z.shape}")
        sig, sd = np.zeros(B), np.zeros(B, dtype=np.uint64)
    elif sigma is not None:
        mode, Z, N = 2, np.zeros((1, 1, 1, 1, 1), dtype=S.dtype), np.empty_like(S)
        sig = np.ascontiguousarray(sigma, dtype=np.float64).reshape(B)
        sd = np.ascontiguousarray(seeds, dtype=np.uint64).reshape(B)
    else:
        mode, Z, N = 0, np.zeros((1, 1, 1, 1, 1), dtype=S.dtype), np.zeros((1, 1, 1, 1), dtype=S.dtype)
        sig, sd = np.zeros(B), np.zeros(B, dtype=np.uint64)
    cj, cd, ck = (float(c) for c in coef)
    kernel, threads = _kernel(B, numba.config.NUMBA_NUM_THREADS if threads is None else int(threads))
    # numba's OpenMP layer and torch share one libgomp here (same soname), so
    # numba.set_num_threads also moves torch's count: put torch's back after
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        kernel(S, P, D0, N, Z, fields, g, ga, cj, cd, ck, bool(periodic), n, mode, sd,
               np.uint64(step0), sig)
    finally:
        numba.set_num_threads(old)
        if torch is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


def heun_step(S, b0, b1, noise, gdt, gadt, coef, periodic: bool, threads: int | None = None):
    """Drop-in twin of :func:`hil.sim.llg.kernels.heun_step` on CPU torch tensors (returns a new tensor)."""
    import torch

    out = S.detach().cpu().numpy().copy(order="C")
    B = out.shape[0]
    fields = np.stack([b0.reshape(B, 3).cpu().numpy(), b1.reshape(B, 3).cpu().numpy()]).astype(np.float64)
    z = None if noise is None else noise.detach().cpu().numpy()[None]
    c = coef.cpu().numpy() if isinstance(coef, torch.Tensor) else np.asarray(coef)
    advance(out, fields, gdt.reshape(B).cpu().numpy(), gadt.reshape(B).cpu().numpy(), c, periodic,
            noise=z, threads=threads)
    return torch.from_numpy(out)
