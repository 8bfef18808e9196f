"""Eigensolvers for the sector Hamiltonian.

``dense``: full diagonalization with LAPACK on one process (this module's :func:`diagonalize_dense`).
SLEPc shift-invert and distributed full diagonalization under MPI live beside it (later issues).
"""

from .dense import DenseSpectrum, dense_memory_bytes, diagonalize_dense, energy_density

__all__ = ["DenseSpectrum", "dense_memory_bytes", "diagonalize_dense", "energy_density"]
