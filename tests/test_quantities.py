"""The one quantity grammar (hil.quantities): exact values, ranges, lists, and every refusal with its remedy."""

from __future__ import annotations

import argparse
import math

import pytest

from hil.errors import HilError
from hil.quantities import (MAX_COUNT, QuantityError, format_quantity, parse_quantity, parse_values, quantity_arg,
                            values_arg)


@pytest.mark.parametrize("text, unit, value", [
    ("28ps", "s", 28e-12),  # exactly the float 28e-12, not 28 * 1e-12
    ("5fs", "s", 5e-15),
    ("2fs", "s", 2e-15),
    ("1.5K", "K", 1.5),
    ("4mA", "A", 4e-3),
    ("-2.5mA", "A", -2.5e-3),
    ("4.5GHz", "Hz", 4.5e9),
    ("100kHz", "Hz", 1e5),
    ("3V", "V", 3.0),
    ("50mT", "T", 0.05),
    ("2T", "T", 2.0),  # T is tesla here, not the tera prefix
    ("20nm", "m", 20e-9),
    ("1MA/m", "A/m", 1e6),
    ("80GSa/s", "Sa/s", 80e9),
    ("0.4T/V", "T/V", 0.4),
    ("1us", "s", 1e-6),
    ("1µs", "s", 1e-6),  # micro sign
    ("1μs", "s", 1e-6),  # Greek mu
    ("1e3ps", "s", 1e-9),
    (" 28 ps ", "s", 28e-12),
    ("-60dBm", "dBm", -60.0),
    ("0", "A", 0.0),  # a bare zero needs no unit
    ("0.0", "s", 0.0),
    ("0.36", "", 0.36),  # dimensionless
    ("2ps", "ns", 0.002),  # the result is in the unit asked for
    ("1ns", "ns", 1.0),
    ("1s", "ns", 1e9),
    ("40", "deg", 40.0),  # a bare angle is degrees, as the CLI always read it
    ("40deg", "deg", 40.0),
    ("40°", "deg", 40.0),
])
def test_exact_values(text, unit, value):
    assert parse_quantity(text, unit) == value


def test_radians_become_degrees():
    assert parse_quantity(f"{math.pi / 2!r}rad", "deg") == pytest.approx(90.0, abs=1e-12)


@pytest.mark.parametrize("text, unit, words", [
    ("28", "s", "28 what? give a unit, e.g. 28ps"),
    ("1e-3", "A", "1e-3 what? give a unit, e.g. 1mA"),  # a value already in A: the example keeps its meaning
    ("2", "V", "2 what? give a unit, e.g. 2V"),
    ("1", "ns", "1 what? give a unit, e.g. 1ns"),
    ("0", "dBm", "0 what?"),  # 0 dBm is 1 mW, not zero: the unit is required
    ("28ns", "A", "'28ns' is not in A"),
    ("28PS", "s", "'28PS' is not in s"),  # prefixes are case-sensitive
    ("1kdBm", "dBm", "without prefix"),
    ("0.3ps", "", "no unit; give a plain number, e.g. 0.3"),
    ("40rpm", "deg", "degrees"),
    ("", "s", "is not a quantity"),
    ("abc", "s", "is not a quantity"),
    ("nan", "s", "is not a quantity"),
    ("inf", "", "is not a number"),
    ("1e999ps", "s", "not a finite number"),
    ("1e999", "", "not a finite number"),
])
def test_refusals_say_what_to_write(text, unit, words):
    with pytest.raises(QuantityError) as info:
        parse_quantity(text, unit)
    assert words in str(info.value)


def test_errors_are_hil_and_value_errors():
    assert issubclass(QuantityError, HilError) and issubclass(QuantityError, ValueError)


def test_ranges_are_inclusive_and_exact_at_the_ends():
    assert parse_values("2ps:40ps:3", "s") == (2e-12, 21e-12, 40e-12)
    assert parse_values("0:4mA:5", "A") == (0.0, 1e-3, 2e-3, 3e-3, 4e-3)
    assert parse_values("0.6:0.2:3", "") == pytest.approx((0.6, 0.4, 0.2))  # descending is allowed
    assert parse_values("5ps:5ps:1", "s") == (5e-12,)
    values = parse_values("0.02:0.6:40", "")
    assert len(values) == 40 and values[0] == 0.02 and values[-1] == 0.6


def test_lists_singles_and_mixtures():
    assert parse_values("8ps,28ps,40ps", "s") == (8e-12, 28e-12, 40e-12)
    assert parse_values("28ps", "s") == (28e-12,)
    assert parse_values("1ps:3ps:3,10ps", "s") == (1e-12, 2e-12, 3e-12, 10e-12)
    assert parse_values("0.1, 0.2", "") == (0.1, 0.2)


@pytest.mark.parametrize("text, words", [
    ("", "no values given"),
    ("  ", "no values given"),
    ("1ps,,2ps", "empty item"),
    ("1ps,", "empty item"),
    ("1ps:2ps", "start:stop:count"),
    ("1ps:2ps:3:4", "start:stop:count"),
    ("2:40ps:14", "2 what? give a unit, e.g. 2ps (in '2:40ps:14')"),
    ("1ps,2", "2 what?"),
    ("0:1ps:0", "the count 0 must be 1 to"),
    ("0:1ps:-3", "must be a whole number"),
    ("0:1ps:2.5", "must be a whole number"),
    ("0:1ps:1e8", "must be a whole number"),
    (f"0:1ps:{MAX_COUNT + 1}", f"must be 1 to {MAX_COUNT}"),
    ("1ps:2ps:1", "one point cannot span"),
    ("0:1e999ps:3", "not a finite number"),
])
def test_bad_lists_and_ranges(text, words):
    with pytest.raises(QuantityError) as info:
        parse_values(text, "s")
    assert words in str(info.value)


def test_a_list_of_ranges_is_bounded_as_a_whole():
    half = MAX_COUNT // 2 + 1
    with pytest.raises(QuantityError, match=f"more than {MAX_COUNT} values"):
        parse_values(f"0:1ps:{half},0:1ps:{half}", "s")


@pytest.mark.parametrize("value, unit, text", [
    (4.5e9, "Hz", "4.5GHz"), (2.0, "V", "2V"), (1e-6, "s", "1us"), (28e-12, "s", "28ps"), (2e-15, "s", "2fs"),
    (3e-3, "A", "3mA"), (0.0, "A", "0A"), (0.4, "T/V", "0.4T/V"), (1.0, "ns", "1ns"), (-60.0, "dBm", "-60dBm"),
    (0.05, "T", "50mT"), (80e9, "Sa/s", "80GSa/s"), (0.36, "", "0.36"),
])
def test_format_reads_back(value, unit, text):
    assert format_quantity(value, unit) == text
    assert parse_quantity(text, unit) == value


def test_argparse_types_show_the_remedy(capsys):
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--t-w", type=quantity_arg("s"))
    parser.add_argument("--widths", type=values_arg("s"))
    args = parser.parse_args(["--t-w", "28ps", "--widths", "8ps,28ps"])
    assert args.t_w == 28e-12 and args.widths == (8e-12, 28e-12)
    with pytest.raises(SystemExit):
        parser.parse_args(["--t-w", "28"])
    assert "argument --t-w: 28 what? give a unit, e.g. 28ps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--widths", "0:4ps:1e8"])
    assert "must be a whole number" in capsys.readouterr().err
