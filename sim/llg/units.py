"""Physical constants of the LLG twin, in the units the twin computes in.

Energies are in meV, fields in T, moments in μ_B, times in s. A moment of
``mu_s`` μ_B in a field of ``B`` T has a Zeeman energy ``mu_s·MU_B·B`` meV.
"""

from __future__ import annotations

#: Bohr magneton, meV/T (CODATA 2018).
MU_B = 5.7883818060e-2
#: Boltzmann constant, meV/K (CODATA 2018).
K_B = 8.617333262e-2
#: Gyromagnetic ratio of the electron, rad/(s·T), as used by the reference codes.
GAMMA = 1.760859644e11
#: 1 mRy in meV (the papers quote J, D, K in mRy).
MEV_PER_MRY = 13.605693
#: Picosecond and femtosecond in s, for readable call sites.
PS = 1e-12
FS = 1e-15
