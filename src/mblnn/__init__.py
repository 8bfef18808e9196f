"""mblnn: many-body localization of the random-field Heisenberg chain probed with neural networks.

Library layout (no workflow code in here):

* physics: :mod:`mblnn.basis`, :mod:`mblnn.disorder`, :mod:`mblnn.hamiltonian`,
  :mod:`mblnn.entanglement`, :mod:`mblnn.levels`
* solvers: :mod:`mblnn.solvers`
* one sample end to end: :mod:`mblnn.sample`
* storage: :mod:`mblnn.store` (Zarr), :mod:`mblnn.atomic`
* tables: :mod:`mblnn.tables`; configuration: :mod:`mblnn.config`
* command line: :mod:`mblnn.cli`
"""

__version__ = "0.1.0"
