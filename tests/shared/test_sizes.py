"""fireflyer.units.parse_size / format_size: sizes as people write them, exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fireflyer import io, units
from fireflyer.errors import InputError
from fireflyer.units import format_size, parse_size, parse_sysfs_size

BINARY = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "KiB": 1 << 10,
    "M": 1 << 20,
    "MiB": 1 << 20,
    "g": 1 << 30,
    "GiB": 1 << 30,
    "T": 1 << 40,
    "TiB": 1 << 40,
    "PiB": 1 << 50,
}
DECIMAL = {"KB": 10**3, "MB": 10**6, "gb": 10**9, "TB": 10**12}


@given(st.integers(0, 10**6), st.sampled_from(sorted({**BINARY, **DECIMAL})), st.booleans())
def test_whole_numbers_with_units(n, unit, space):
    assert parse_size(f"{n}{' ' if space else ''}{unit}") == n * {**BINARY, **DECIMAL}[unit]


@pytest.mark.parametrize(
    "text, value",
    [("1.5GiB", 3 << 29), ("0.5k", 512), (".25MiB", 1 << 18), ("4096", 4096), (" 4 g ", 4 << 30), (7, 7)],
)
def test_fractions_are_exact(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize(
    "text", ["", "GiB", "4XB", "-1k", "1.3b", "1.0001k", "4 Gibibytes", "1e3", "nan", "4.k.k"]
)
def test_refused(text):
    with pytest.raises(InputError) as e:
        parse_size(text, field="size")
    assert e.value.field == "size"


def test_negative_ints_refused():
    with pytest.raises(InputError):
        parse_size(-1)


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0 B"),
        (1000, "1000 B"),
        (1536, "1.5 KiB"),
        (4 << 30, "4 GiB"),
        (3 << 29, "1.5 GiB"),
        (5 << 40, "5 TiB"),
    ],
)
def test_format_size(n, text):
    assert format_size(n) == text


def test_io_reexports_the_units():
    assert (io.parse_size, io.format_size, io.MiB, io.GiB) == (parse_size, format_size, units.MiB, units.GiB)


@pytest.mark.parametrize(("text", "nbytes"), [("32K\n", 32 << 10), ("2M", 2 << 20), ("4096", 4096), ("x", 0)])
def test_sysfs_sizes(text, nbytes):
    assert parse_sysfs_size(text) == nbytes
