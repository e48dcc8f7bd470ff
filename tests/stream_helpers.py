"""Helpers the stream tests share: a small step model, free loopback ports, sockets that close at once.

A plain module (``from tests.stream_helpers import ...``). A test module that imports ``model_path_fixture``
has the fixture ``model_path``: one model per module.
"""

from __future__ import annotations

import socket

import pytest
import torch
import zmq

from hil.models.classifier import ClassifierConfig, ProcessClassifier, export_onnx


@pytest.fixture(scope="module", name="model_path")
def model_path_fixture(tmp_path_factory):
    """A small untrained step model (32 inputs, 16 hidden), exported to ONNX."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "m.onnx"
    export_onnx(ProcessClassifier(ClassifierConfig(input_size=32, hidden=16)), path, version="test")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connected(ctx: zmq.Context, kind: int, endpoint: str, **options: int) -> zmq.Socket:
    """A socket of ``kind`` that drops what it holds when closed (LINGER 0), with ``options`` (``RCVHWM=2``)
    set, connected to ``endpoint``."""
    sock = ctx.socket(kind)
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name), value)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    return sock
