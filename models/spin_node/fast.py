"""A compiled CPU rollout of a trained Spin-NODE (numba), for batch-1 speed.

The network is tiny (≈ 3 000 multiply-adds per derivative), so torch and
onnxruntime spend most of a step in per-operation overhead. The same RK4
step as :meth:`SpinNODE.step`, written as loops and compiled once, removes
that overhead; fastmath lets the dot products vectorise (reassociated sums, ≈ 1e-15
relative). It is checked against the torch rollout in the tests.
"""

from __future__ import annotations

import numpy as np

_KERNEL = None


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        import numba

        @numba.njit(cache=True, fastmath=True)
        def deriv(z, w1, b1, w2, b2, w3, b3, wl, h1, h2, out):
            n1, n_in = w1.shape
            for i in range(n1):
                acc = b1[i]
                for j in range(n_in):
                    acc += w1[i, j] * z[j]
                h1[i] = np.tanh(acc)
            for i in range(w2.shape[0]):
                acc = b2[i]
                for j in range(n1):
                    acc += w2[i, j] * h1[j]
                h2[i] = np.tanh(acc)
            for i in range(w3.shape[0]):
                acc = b3[i]
                for j in range(w3.shape[1]):
                    acc += w3[i, j] * h2[j]
                for j in range(wl.shape[1]):
                    acc += wl[i, j] * z[j]
                out[i] = acc

        @numba.njit(cache=True, fastmath=True)
        def rollout(s0, u, w1, b1, w2, b2, w3, b3, wl):
            nb, k = s0.shape
            steps = u.shape[1] - k - 1
            m = u.shape[2]
            out = np.empty((nb, steps + 1, k))
            z = np.empty(k + k * m)
            h1 = np.empty(w1.shape[0])
            h2 = np.empty(w2.shape[0])
            d = np.empty((4, k))
            s = np.empty(k)
            for b in range(nb):
                s[:] = s0[b]
                out[b, 0] = s
                for i in range(steps):
                    for st in range(4):
                        c = 0.0 if st == 0 else (1.0 if st == 3 else 0.5)
                        for j in range(k):
                            prev = 0.0 if st == 0 else d[st - 1, j]
                            z[j] = s[j] + c * prev
                            for q in range(m):
                                z[k + j * m + q] = (1 - c) * u[b, i + j, q] + c * u[b, i + j + 1, q]
                        deriv(z, w1, b1, w2, b2, w3, b3, wl, h1, h2, d[st])
                    for j in range(k):
                        s[j] += (d[0, j] + 2 * d[1, j] + 2 * d[2, j] + d[3, j]) / 6
                    out[b, i + 1] = s
            return out

        _KERNEL = rollout
    return _KERNEL


class FastRollout:
    """``rollout(s0 (B, k), u (B, N, m))`` → states (B, N, k), float64, normalised units, as SpinNODE.rollout."""

    def __init__(self, model):
        net = model.net
        get = lambda t: t.detach().double().numpy().copy()  # noqa: E731
        self.k = model.embed
        n_in = model.embed + model.embed * model.n_inputs
        wl = get(model.linear.weight) if model.linear is not None else np.zeros((model.embed, 0))
        self.weights = (get(net[0].weight), get(net[0].bias), get(net[2].weight), get(net[2].bias),
                        get(net[4].weight), get(net[4].bias), wl if wl.shape[1] else np.zeros((model.embed, 0)))
        assert self.weights[0].shape[1] == n_in
        self.kernel = _kernel()

    def rollout(self, s0: np.ndarray, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        pad = np.repeat(u[:, -1:], self.k, axis=1)  # hold the last input, as SpinNODE.rollout
        return self.kernel(np.ascontiguousarray(s0, dtype=np.float64), np.ascontiguousarray(np.concatenate([u, pad], 1)),
                           *self.weights)
