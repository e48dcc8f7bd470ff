"""The SCPI syntax layer: message splitting, headers, arguments, blocks, tree matching, framing."""

from __future__ import annotations

import pytest

from hil.sim.scpi.dialect import Call
from hil.sim.scpi.errors import ErrorQueue, ScpiError
from hil.sim.scpi.framing import MessageFramer
from hil.sim.scpi.parser import Command, Node, parse_message, split_top_level
from hil.sim.scpi.tree import compile_pattern, forms, match


def commands(message: bytes) -> list[Command]:
    out = parse_message(message)
    assert all(isinstance(c, Command) for c in out), out
    return out


def nodes(*names: str) -> tuple[Node, ...]:
    return tuple(Node(n) for n in names)


# -- messages and headers -------------------------------------------------------


def test_units_split_at_semicolons_and_relative_headers_continue_the_path():
    cmds = commands(b":FREQ:CENT 1e9;SPAN 2E6;*OPC?;BAND 10;:INIT:IMM")
    assert [c.header for c in cmds] == [":FREQ:CENT", ":FREQ:SPAN", "*OPC?", ":FREQ:BAND", ":INIT:IMM"]
    assert cmds[0].args[0].text == "1e9"
    assert cmds[2].common == "*OPC" and cmds[2].query


def test_a_message_starts_at_the_root_and_trailing_semicolons_are_empty_units():
    cmds = commands(b"freq:cent?;;")
    assert len(cmds) == 1 and cmds[0].nodes == nodes("FREQ", "CENT") and cmds[0].query


def test_numeric_suffixes_split_from_mnemonics():
    (cmd,) = commands(b":OUTP1:STAT ON")
    assert cmd.nodes == (Node("OUTP", 1), Node("STAT"))
    (cmd,) = commands(b"SOUR2:DATA:ARB NAME,1,2")
    assert cmd.nodes[0] == Node("SOUR", 2) and [a.text for a in cmd.args] == ["NAME", "1", "2"]


def test_blocks_may_hold_separators_quotes_and_newlines():
    payload = b'a;b,"c\n#'
    message = b":DATA1:DAC VOLATILE,#18" + payload + b";*OPC?"
    first, second = commands(message)
    assert first.args[0].text == "VOLATILE" and first.args[1].block == payload
    assert second.common == "*OPC"


def test_quoted_strings_keep_their_separators_and_unescape_doubled_quotes():
    (cmd,) = commands(b':SYST:COMM:SER:SEND ":READ?;*IDN?",\'it\'\'s\'')
    assert cmd.args[0].string == ":READ?;*IDN?" and cmd.args[1].string == "it's"


@pytest.mark.parametrize(
    "message, code",
    [
        (b":DATA #15ab", -161),  # block shorter than declared
        (b':SEND "abc', -151),
        (b"FREQ::CENT 1", -102),
        (b"\xff\xfe 1", -102),
        (b"FREQ \xff", -101),
        (b"FREQ 1,,2", -102),
        (b"DATA #18abcdefgh junk", -161),
    ],
)
def test_malformed_units_become_errors(message, code):
    out = parse_message(message)
    assert isinstance(out[0], ScpiError) and out[0].code == code


def test_an_error_in_one_unit_leaves_the_others():
    out = parse_message(b"FREQ 1,,2;*IDN?")
    assert isinstance(out[0], ScpiError) and isinstance(out[1], Command) and out[1].common == "*IDN"


def test_split_top_level_ignores_separators_inside_quotes_and_blocks():
    assert split_top_level(b'a,"b,c",#12,,,d', 0x2C) == [b"a", b'"b,c"', b"#12,,", b"d"]


# -- the command tree -------------------------------------------------------------


@pytest.mark.parametrize("sent", [b":FREQ:CENT", b"freq:cent", b"SENS:FREQ:CENT", b":SENSe:FREQuency:CENTer",
                                  b":sense:frequency:center"])
def test_long_short_case_and_optional_nodes_match(sent):
    pattern = compile_pattern("[:SENSe]:FREQuency:CENTer")
    (cmd,) = commands(sent + b" 1")
    assert match(pattern, cmd.nodes) is not None


@pytest.mark.parametrize("sent", [b":FREQU:CENT", b":FRE:CENT", b":FREQ", b":FREQ:CENT:X", b":FREQ1:CENT"])
def test_near_misses_do_not_match(sent):
    pattern = compile_pattern("[:SENSe]:FREQuency:CENTer")
    (cmd,) = commands(sent + b" 1")
    assert match(pattern, cmd.nodes) is None


def test_suffixes_alternatives_and_several_optional_nodes():
    volt = compile_pattern("[:SOURce]:VOLTage#[:LEVel][:IMMediate][:AMPLitude]")
    assert match(volt, (Node("VOLT", 2),)) == [None, 2, None, None, None]
    assert match(volt, (Node("SOUR"), Node("VOLT"), Node("IMM"), Node("AMPL"))) == [None] * 5
    offs = compile_pattern("[:SOURce]:VOLTage#[:LEVel][:IMMediate]:OFFSet")
    assert match(offs, (Node("VOLT", 1), Node("OFFS"))) == [None, 1, None, None, None]
    band = compile_pattern("[:SENSe]:BANDwidth|BWIDth[:RESolution]")
    assert match(band, nodes("BWID", "RES")) is not None and match(band, nodes("BAND")) is not None
    freq = compile_pattern("[:SOURce]:FREQuency#[:CW|:FIXed]")
    assert match(freq, nodes("FREQ", "FIX")) is not None


def test_short_forms_keep_trailing_digits():
    assert forms("INTernal2") == ("INT2", "INTERNAL2")
    assert forms("FREQuency") == ("FREQ", "FREQUENCY")


def test_a_bad_pattern_is_refused():
    with pytest.raises(ValueError):
        compile_pattern("[:SENSe:FREQ")


# -- argument decoding --------------------------------------------------------------


def call(message: bytes) -> Call:
    (cmd,) = commands(message)
    return Call(cmd, [None] * len(cmd.nodes))


@pytest.mark.parametrize(
    "text, unit, value",
    [("1e6", "HZ", 1e6), ("1 MHZ", "HZ", 1e6), ("2.5GHZ", "HZ", 2.5e9), ("10 ns", "S", 10e-9),
     ("5 MS", "S", 5e-3), ("-3", None, -3.0), (".5", None, 0.5), ("MAX", "HZ", 9.0)],
)
def test_numbers_with_units_and_prefixes(text, unit, value):
    assert call(b"X " + text.encode()).number(0, unit, (1.0, 9.0)) == pytest.approx(value)


@pytest.mark.parametrize("text, unit, code", [("1 V", "HZ", -131), ("1 HZ", None, -131), ("one", "HZ", -104)])
def test_bad_numbers(text, unit, code):
    with pytest.raises(ScpiError) as info:
        call(b"X " + text.encode()).number(0, unit)
    assert info.value.code == code


def test_booleans_and_words():
    assert call(b"X ON").boolean() is True and call(b"X 0").boolean() is False
    assert call(b"X man").word(0, ("IMMediate", "MANual")) == "MAN"
    with pytest.raises(ScpiError) as info:
        call(b"X maybe").boolean()
    assert info.value.code == -104
    with pytest.raises(ScpiError) as info:
        call(b"X BUS").word(0, ("IMMediate", "MANual"))
    assert info.value.code == -224


# -- the error queue -----------------------------------------------------------------


def test_error_queue_is_fifo_and_overflows_into_350():
    queue = ErrorQueue(capacity=3)
    assert queue.pop() == '0,"No error"'
    for code in (-113, -222, -104, -102):
        queue.push(ScpiError(code))
    assert queue.codes() == [-113, -222, -350]
    assert queue.pop() == '-113,"Undefined header"'


# -- framing -------------------------------------------------------------------------


def test_framer_reassembles_messages_split_anywhere_and_skips_newlines_in_blocks():
    data = b"*IDN?\n:DATA1:DAC VOLATILE,#14\n\n\n\n;*OPC?\nSYST:ERR?\n"
    for size in (1, 2, 3, 7, len(data)):
        framer = MessageFramer()
        out = []
        for start in range(0, len(data), size):
            out += framer.feed(data[start:start + size])
        assert out == [b"*IDN?", b":DATA1:DAC VOLATILE,#14\n\n\n\n;*OPC?", b"SYST:ERR?"]


def test_framer_drops_an_overlong_message_and_recovers_at_the_next_newline():
    framer = MessageFramer(limit=64)
    out = framer.feed(b"A" * 100)
    assert [e.code for e in out] == [-223]
    assert framer.feed(b"B" * 100) == []
    assert framer.feed(b"C\n*IDN?\n") == [b"*IDN?"]


def test_framer_refuses_a_block_declaring_more_than_the_limit():
    framer = MessageFramer(limit=64)
    out = framer.feed(b":DATA #9999999999xx\n*IDN?\n")
    assert isinstance(out[0], ScpiError) and out[0].code == -223 and out[1:] == [b"*IDN?"]
