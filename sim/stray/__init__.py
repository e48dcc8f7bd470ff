"""Stray-field imaging: B_z above a magnetic film from its magnetisation (NV / MFM forward model).

:mod:`.forward` is the exact thin-film Fourier expression and its real-space
t ≪ d check; :mod:`.disk` the closed-form disk; :mod:`.shapes` the ellipse
training data (written to the HDF5 store); :mod:`.scan` the measurement twin
that images the LLG sample.
"""

from .disk import disk_bz, disk_bz_on_axis
from .forward import (MU0, bz_from_magnetisation, bz_thin_film_realspace, field_scale, film_transfer,
                      resolution_functions, scaled_field)
from .scan import ScanSettings, equivalent_texture, scan
from .shapes import ShapeSpec, generate, random_sample, write_dataset

__all__ = [
    "MU0", "ScanSettings", "ShapeSpec", "bz_from_magnetisation", "bz_thin_film_realspace", "disk_bz",
    "disk_bz_on_axis", "equivalent_texture", "field_scale", "film_transfer", "generate", "random_sample",
    "resolution_functions", "scaled_field", "scan", "write_dataset",
]
