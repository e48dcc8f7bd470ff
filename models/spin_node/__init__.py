"""Spin-Neural ODE: a device's dynamics learned from recorded input → output traces.

The state is a delay embedding of the observed output, (y(t), y(t+Δ), …,
y(t+(k−1)Δ)) with Δ one sample; an MLP gives its time derivative from the
state and the inputs at the same k times, interpolated linearly at the
solver's stage times. A fixed-step RK4 written here (one step per sample)
integrates it, so the step exports to ONNX; torchdiffeq's ``odeint`` serves
as a cross-check. Time inside the model is in samples, values are
normalised; the model converts at its boundary (``predict``).

Modules: ``rk4`` (integrator), ``model`` (the network and its step),
``data`` (traces from the store, checked), ``train`` (window training),
``io`` (save / load), ``onnx`` (export and onnxruntime rollout).
"""

from hil.models.spin_node.data import Trace, TraceError, load_traces
from hil.models.spin_node.io import load, save
from hil.models.spin_node.model import SpinNODE
from hil.models.spin_node.train import TrainConfig, nrmse, train

__all__ = ["SpinNODE", "Trace", "TraceError", "TrainConfig", "load", "load_traces", "nrmse", "save", "train"]
