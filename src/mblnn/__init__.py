"""mblnn: many-body localization of the random-field Heisenberg chain probed with neural networks.

Library layout (no workflow code in here):

* physics: :mod:`mblnn.model.basis`, :mod:`mblnn.model.disorder`, :mod:`mblnn.model.hamiltonian`,
  :mod:`mblnn.observables.entanglement`, :mod:`mblnn.observables.levels`
* solvers: :mod:`mblnn.solve`
* one sample end to end: :mod:`mblnn.sample`
* storage: :mod:`mblnn.store.samples` (Zarr), :mod:`mblnn.store.atomic`
* tables: :mod:`mblnn.analyse.tables`; configuration: :mod:`mblnn.config`
* command line: :mod:`mblnn.cli`
"""

__version__ = "0.1.0"
