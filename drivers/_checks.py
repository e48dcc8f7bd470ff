"""Range checks that name the quantity and the instrument, raised before anything is sent."""

from __future__ import annotations


def check(name: str, value: float, bounds: tuple[float, float], unit: str, model: str) -> None:
    """Raise ValueError when ``value`` lies outside ``bounds`` (inclusive); never clip."""
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{name} {value:.6g} {unit} is outside the {model}'s range [{low:g}, {high:g}] {unit}")
