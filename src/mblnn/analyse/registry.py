"""Every table of a campaign in one registry: what it reads, which config keys it depends on, how it is built.

A table is written by ``mblnn table NAME`` (CSV and Parquet, :func:`mblnn.analyse.tables.write_table`) and by the
workflow's one ``table`` rule, which takes the inputs and the config keys from here. Adding a table is one entry
in :data:`TABLES` (and a figure, optionally, in :data:`mblnn.plot.catalogue.FIGURES`).

Inputs a table may read (:class:`TableInputs`):

``samples``     sample stores (``mblnn spectrum``), every N and h̄ of the campaign
``classified``  classification stores (``mblnn classify``); which ones is the table's ``stores``:
                ``all`` ensembles, the ``main`` variant at every cut, or the main variant's ``half_chain`` cut
``dreams``      dream archives (``mblnn dream``, ``.npz``)
``confusion``   per-network tables of ``mblnn confusion`` (``.csv``)
``tables``      other tables of this registry, by name (read from their CSV)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mblnn.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


# The analyses (pandas, zarr, scipy) are imported when a table is built, not with the registry: planning a campaign
# reads only the names, inputs and keys here (tests/test_envs.py checks what planning imports).
def _phase():
    from mblnn.analyse import phase

    return phase


def _finite_size():
    from mblnn.analyse import finite_size

    return finite_size


def _read_csv(path):
    import pandas as pd

    return pd.read_csv(path)


@dataclass
class TableInputs:
    """The files a table is built from (paths as given; stores opened lazily)."""

    samples: Sequence[Path] = ()
    classified: Sequence[Path] = ()
    dreams: Sequence[Path] = ()
    confusion: Sequence[Path] = ()
    tables: Mapping[str, Path] = field(default_factory=dict)

    def classifications(self):
        from mblnn.learn.classify import open_classification

        return [open_classification(path) for path in self.classified]

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise InputError(f"this table needs the {name} table (--table {name}=PATH)")
        return _read_csv(self.tables[name])

    def confusion_networks(self) -> pd.DataFrame:
        import pandas as pd

        return pd.concat([pd.read_csv(path) for path in self.confusion], ignore_index=True)


@dataclass(frozen=True)
class Table:
    """One table: ``reads`` names the :class:`TableInputs` it needs, ``stores`` which classification stores,
    ``tables`` the other tables it reads, ``keys`` the config keys (dotted) its values depend on."""

    name: str
    build: Callable[[TableInputs, Mapping], pd.DataFrame]
    keys: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    stores: str = "all"
    tables: tuple[str, ...] = ()
    needs: str = ""  # the config section without which the table is not part of a campaign


def _get(config: Mapping, key: str):
    node = config
    for part in key.split("."):
        node = node[part]
    return node


def _critical_curves(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    return _phase().mbl_fraction_curves(inputs.classifications(), config["analysis"]["thresholds"])


def _critical_field(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    a = config["analysis"]
    curves = _critical_curves(inputs, config)
    per_realization = _phase().critical_field_realizations(curves, a["fractions"])
    return _phase().critical_field_table(curves, per_realization, a["fractions"], replicas=a["replicas"], seed=a["seed"])


def _single_realization(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    import pandas as pd

    a = config["analysis"]
    s = a["single_realization"]
    return pd.concat([_phase().single_realization_table(c, s["realization"], s["window"], a["threshold"])
                      for c in inputs.classifications()], ignore_index=True)


def _fine_structure(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    import pandas as pd

    s = config["analysis"]["single_realization"]
    return pd.concat([_phase().fine_structure_table(c, s["realization"], s["middle_states"]) for c in inputs.classifications()],
                     ignore_index=True)


def _dreams(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    import numpy as np

    def arrays(path):
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    return _phase().dream_table(arrays(p) for p in inputs.dreams)


def _confusion(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    from mblnn.learn.confusion import confusion_table

    return confusion_table(inputs.confusion_networks())


def _summary(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    from mblnn.analyse.summary import campaign_summary

    t, a = config["training"], config["analysis"]
    return campaign_summary(inputs.classifications(), inputs.table("critical_field"), inputs.table("level_statistics"),
                            inputs.table("transition_region"), inputs.table("consistency_summary"), t["h_eth"], t["h_mbl"],
                            a["threshold"], a["critical_fraction"])


def _level_statistics(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    from mblnn.analyse.tables import level_statistics_table

    return level_statistics_table(inputs.samples, window=tuple(config["level_statistics"]["eps_window"]))


def _curves(inputs: TableInputs, config: Mapping):
    """r and (with classification stores) network curves per ε bin of the finite-size tables."""
    f = config["finite_size"]
    ratios = _finite_size().gap_ratio_curves(inputs.samples, f["eps"], f["eps_width"])
    network = _finite_size().network_curves(inputs.classifications(), f["eps"], f["eps_width"]) if inputs.classified else None
    return ratios, network


def _mobility_edge(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    return _finite_size().mobility_edge_table(*_curves(inputs, config))


def _crossings(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    import pandas as pd

    from mblnn.learn.confusion import confusion_transitions

    f = config["finite_size"]
    ratios, network = _curves(inputs, config)
    crossings = _finite_size().crossing_table(ratios, network, level=f["level"], replicas=f["replicas"], seed=f["seed"])
    if inputs.confusion:
        crossings = pd.concat([crossings, confusion_transitions(inputs.confusion_networks())], ignore_index=True)
    return crossings


def _scaling(inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    f = config["finite_size"]
    ratios, network = _curves(inputs, config)
    observables = {"gap_ratio": ratios, **({"network": network} if network is not None else {})}
    # the network's output saturates at 0 and 1: only its unsaturated points enter the collapse
    return _finite_size().scaling_table(observables, tuple(f["fit_range"]), f["degree"], f["replicas"], f["seed"],
                                     value_ranges={"network": tuple(f["network_range"])})


_FINITE_SIZE = ("finite_size.eps", "finite_size.eps_width")

#: every table, by name (the name is the file stem under results/tables/)
TABLES: dict[str, Table] = {t.name: t for t in [
    Table("level_statistics", _level_statistics, ("level_statistics.eps_window",), reads=("samples",)),
    Table("phase_diagram", lambda i, c: _phase().phase_diagram_table(i.classifications(), c["analysis"]["eps_bins"],
                                                                  c["analysis"]["threshold"]),
          ("analysis.eps_bins", "analysis.threshold"), reads=("classified",)),
    Table("critical_field", _critical_field,
          ("analysis.thresholds", "analysis.fractions", "analysis.replicas", "analysis.seed"), reads=("classified",)),
    Table("critical_field_realizations",
          lambda i, c: _phase().critical_field_realizations(_critical_curves(i, c), c["analysis"]["fractions"]),
          ("analysis.thresholds", "analysis.fractions"), reads=("classified",)),
    Table("consistency", lambda i, c: _phase().consistency_table(i.classifications(), c["analysis"]["threshold"]),
          ("analysis.threshold",), reads=("classified",)),
    Table("consistency_summary",
          lambda i, c: _phase().consistency_summary(_phase().consistency_table(i.classifications(), c["analysis"]["threshold"]),
                                                 c["training"]["h_eth"], c["training"]["h_mbl"]),
          ("analysis.threshold", "training.h_eth", "training.h_mbl"), reads=("classified",)),
    Table("levels_vs_network",
          lambda i, c: _phase().levels_vs_network_table(i.table("level_statistics"), i.table("phase_diagram"),
                                                     tuple(c["level_statistics"]["eps_window"])),
          ("level_statistics.eps_window",), tables=("level_statistics", "phase_diagram")),
    Table("transition_region", lambda i, c: _phase().transition_region_table(i.classifications(), c["analysis"]["threshold"]),
          ("analysis.threshold",), reads=("classified",)),
    Table("spatial_structure", lambda i, c: _phase().spatial_structure_table(i.classifications(), c["analysis"]["threshold"]),
          ("analysis.threshold",), reads=("classified",), stores="main"),
    Table("single_realization", _single_realization,
          ("analysis.single_realization.realization", "analysis.single_realization.window", "analysis.threshold"),
          reads=("classified",), stores="half_chain"),
    Table("fine_structure", _fine_structure,
          ("analysis.single_realization.realization", "analysis.single_realization.middle_states"),
          reads=("classified",), stores="half_chain"),
    Table("summary", _summary, ("analysis.threshold", "analysis.critical_fraction", "training.h_eth", "training.h_mbl"),
          reads=("classified",), tables=("critical_field", "level_statistics", "transition_region", "consistency_summary")),
    Table("dreams", _dreams, reads=("dreams",), needs="dreaming.targets"),
    Table("mobility_edge", _mobility_edge, _FINITE_SIZE, reads=("samples", "classified"), stores="half_chain",
          needs="finite_size"),
    Table("crossings", _crossings,
          _FINITE_SIZE + ("finite_size.level", "finite_size.replicas", "finite_size.seed"),
          reads=("samples", "classified", "confusion"), stores="half_chain", needs="finite_size"),
    Table("scaling", _scaling,
          _FINITE_SIZE + ("finite_size.fit_range", "finite_size.degree", "finite_size.replicas", "finite_size.seed",
                          "finite_size.network_range"),
          reads=("samples", "classified"), stores="half_chain", needs="finite_size"),
    Table("confusion", _confusion, reads=("confusion",), needs="finite_size.confusion.eps"),
]}

#: the same analyses of the classifications by another campaign's ensembles (config transfer)
TABLES |= {f"transfer_{name}": replace(TABLES[name], name=f"transfer_{name}", stores="transferred", needs="transfer")
           for name in ("phase_diagram", "critical_field")}


def config_subset(config: Mapping, keys: Sequence[str]) -> dict:
    """The nested part of ``config`` holding exactly ``keys`` (dotted): what a job depends on, nothing else."""
    subset: dict = {}
    for key in keys:
        *parents, last = key.split(".")
        node = subset
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = _get(config, key)
    return subset


def build_table(name: str, inputs: TableInputs, config: Mapping) -> pd.DataFrame:
    """Build table ``name`` of :data:`TABLES` from ``inputs`` with the (validated) ``config`` sections."""
    if name not in TABLES:
        raise InputError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
    table = TABLES[name]
    for key in table.keys:
        try:
            _get(config, key)
        except (KeyError, TypeError):
            raise InputError(f"table {name} needs the config key {key} (--config)") from None
    for kind in table.reads:
        if kind != "confusion" and not getattr(inputs, kind):
            raise InputError(f"table {name} reads {kind} (--{kind} PATH ...)")
    return table.build(inputs, config)
