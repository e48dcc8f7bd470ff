"""The SCPI server through real PyVISA (pyvisa-py over TCP loopback): identification, the error
queue, binary blocks both ways, garbage and dropped clients, stopping."""

from __future__ import annotations

import signal
import socket
import threading
import time

import numpy as np
import pytest
import pyvisa

from hil.sim.scpi import serve_twins
from hil.sim.scpi.recorders import RecordingBiasSource, RecordingPulseGenerator, RecordingSpectrumAnalyser


@pytest.fixture(scope="module")
def visa():
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


@pytest.fixture
def bench():
    """Three recording stand-ins served on OS-chosen loopback ports."""
    twins = {
        "pulse_generator": ("keysight33500b", RecordingPulseGenerator()),
        "spectrum_analyser": ("keysight_xseries", RecordingSpectrumAnalyser()),
        "bias_source": ("keithley6221", RecordingBiasSource()),
    }
    with serve_twins(twins) as group:
        group.twins = {role: twin for role, (_, twin) in twins.items()}
        yield group


def open_(visa, group, role):
    resource = visa.open_resource(group.resources[role], read_termination="\n", write_termination="\n",
                                  timeout=3000)
    return resource


def test_each_role_on_its_own_loopback_port(bench):
    ports = bench.ports
    assert set(ports) == {"pulse_generator", "spectrum_analyser", "bias_source"}
    assert len(set(ports.values())) == 3 and all(p > 0 for p in ports.values())
    assert bench.resources["bias_source"] == f"TCPIP0::127.0.0.1::{ports['bias_source']}::SOCKET"


def test_idn_and_the_error_queue_over_pyvisa(visa, bench):
    inst = open_(visa, bench, "bias_source")
    try:
        assert inst.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 6221")
        inst.write(":NO:SUCH:HEADER 1")
        inst.write(":SOUR:CURR 1")  # 1 A: beyond the 6221's 105 mA
        inst.write(":SOUR:CURR lots")
        inst.write(":SOUR:CURR 1.5e-3")
        assert inst.query("SYST:ERR?") == '-113,"Undefined header;:NO:SUCH:HEADER"'
        assert inst.query("SYST:ERR?").startswith("-222,\"Data out of range")
        assert inst.query("SYST:ERR?") == '-104,"Data type error;\'lots\' is not a number"'
        assert inst.query("SYST:ERR?") == '0,"No error"'
        assert float(inst.query(":SOUR:CURR?")) == 1.5e-3
        assert bench.twins["bias_source"].current == 1.5e-3
    finally:
        inst.close()


def test_binary_blocks_both_ways(visa, bench):
    generator = open_(visa, bench, "pulse_generator")
    analyser = open_(visa, bench, "spectrum_analyser")
    try:
        points = np.linspace(-1, 1, 4096).astype(np.float32)
        points[100] = np.frombuffer(b"\n;,\"", "<f4")[0] / 1e38  # bytes that look like separators
        generator.write("FORM:BORD SWAP")
        generator.write_binary_values("SOUR1:DATA:ARB WAVE,", points, datatype="f", is_big_endian=False)
        assert generator.query("SYST:ERR?") == '0,"No error"'
        np.testing.assert_array_equal(bench.dialect("pulse_generator").channels[1].volatile["WAVE"], points)

        analyser.write(":FREQ:CENT 5e9;SPAN 200e6;:SWE:POIN 1001;:INIT:CONT OFF;:FORM REAL,32;:FORM:BORD SWAP")
        assert analyser.query(":INIT:IMM;*OPC?") == "1"
        trace = analyser.query_binary_values(":TRAC:DATA? TRACE1", datatype="f", is_big_endian=False,
                                             container=np.array)
        assert trace.size == 1001 and analyser.query("SYST:ERR?") == '0,"No error"'
        np.testing.assert_allclose(trace, bench.twins["spectrum_analyser"].sweep()[1], rtol=1e-6)
    finally:
        generator.close()
        analyser.close()


def raw_client(group, role) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", group.ports[role]), timeout=3)
    return client


def ask(client: socket.socket, text: bytes) -> bytes:
    client.sendall(text + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        data += client.recv(4096)
    return data


def test_garbage_non_utf8_and_overlong_lines_leave_the_server_answering(visa, bench):
    with raw_client(bench, "bias_source") as client:
        client.sendall(b"\xff\xfe\x00\x80 garbage;;;;\x01\n")
        client.sendall(b"#9" + b"9" * 9 + b"\n")  # a block declaring a gigabyte
        client.sendall(b"A" * (1 << 20) + b"\n")  # a megabyte of nothing (below the 80 MB limit)
        client.sendall(b'SYST:COMM:SER:SEND "unterminated\n')
        assert ask(client, b"*IDN?").startswith(b"KEITHLEY")
        codes = []
        while True:
            reply = ask(client, b"SYST:ERR?")
            codes.append(int(reply.split(b",")[0]))
            if codes[-1] == 0:
                break
        assert {-102, -223, -113, -151} <= set(codes)  # syntax, too much data, undefined header, string
    inst = open_(visa, bench, "bias_source")
    try:
        assert inst.query("*IDN?").startswith("KEITHLEY")
    finally:
        inst.close()


def test_a_client_that_vanishes_mid_block_or_mid_query_does_not_stop_the_server(visa, bench):
    with raw_client(bench, "pulse_generator") as client:
        client.sendall(b"SOUR1:DATA:ARB HALF,#48000" + b"\x00" * 100)  # 100 of 8000 bytes, then gone
    with raw_client(bench, "spectrum_analyser") as client:
        client.sendall(b":SWE:POIN 40001;:INIT:CONT OFF;:INIT;:FORM REAL,32;:TRAC? TRACE1\n")  # never reads
    time.sleep(0.3)
    generator = open_(visa, bench, "pulse_generator")
    analyser = open_(visa, bench, "spectrum_analyser")
    try:
        assert generator.query("*IDN?").startswith("Agilent Technologies,33522B")
        assert "HALF" not in bench.dialect("pulse_generator").channels[1].volatile
        assert analyser.query("*OPC?") == "1"
    finally:
        generator.close()
        analyser.close()


def test_two_clients_at_once_each_get_their_own_replies(visa, bench):
    results: list[bool] = []

    def hammer():
        inst = open_(visa, bench, "bias_source")
        try:
            results.append(all(inst.query("*IDN?").startswith("KEITHLEY") for _ in range(50)))
        finally:
            inst.close()

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == [True, True, True]


def test_stop_closes_the_ports():
    group = serve_twins({"bias_source": ("keithley2400", RecordingBiasSource())})
    port = group.ports["bias_source"]
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    group.stop()
    group.stop()  # idempotent
    assert group.stopped
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_given_ports_are_used_and_unknown_roles_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with serve_twins({"bias_source": ("keithley6221", RecordingBiasSource())}, ports={"bias_source": free}) as group:
        assert group.ports == {"bias_source": free}
    with pytest.raises(ValueError, match="frame_source"):
        serve_twins({"bias_source": ("keithley6221", RecordingBiasSource())}, ports={"frame_source": 1})


def test_only_loopback_unless_explicitly_allowed():
    with pytest.raises(ValueError, match="not a loopback address"):
        serve_twins({"bias_source": ("keithley6221", RecordingBiasSource())}, host="0.0.0.0")
    with serve_twins({"bias_source": ("keithley6221", RecordingBiasSource())}, host="localhost") as group:
        assert group.host == "127.0.0.1"  # one concrete address: clients resolve it the same way
        socket.create_connection(("127.0.0.1", group.ports["bias_source"]), timeout=1).close()


def test_run_forever_returns_when_a_signal_handler_calls_stop():
    group = serve_twins({"bias_source": ("keithley6221", RecordingBiasSource())})
    port = group.ports["bias_source"]
    previous = signal.signal(signal.SIGALRM, lambda *_: group.stop())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        started = time.monotonic()
        group.run_forever()
        assert time.monotonic() - started < 3
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert group.stopped
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_run_forever_returns_when_another_thread_calls_stop():
    group = serve_twins({"bias_source": ("keithley6221", RecordingBiasSource())})
    threading.Timer(0.2, group.stop).start()
    group.run_forever()
    assert group.stopped
