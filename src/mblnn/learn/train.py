"""One ensemble from sample stores: the TD/TR data of one (N, cut) and the trainer, configured by a variant's
resolved ``training`` section (:func:`mblnn.config.variant_training`; every key has its default in the schema)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from mblnn.learn.features import FeatureSettings, training_data
from mblnn.learn.network import Ensemble, Progress, TrainingConfig, train_ensemble


def train_from_samples(paths: Sequence[str | os.PathLike], cut: int, training: dict,
                       progress: Progress | None = None) -> Ensemble:
    """Train ``training["members"]`` networks on the spectra of cut N_A = ``cut`` of the stores ``paths`` (one N;
    those at h_eth and h_mbl label TD, those between form TR). The returned ensemble's ``config["data"]`` records
    how its inputs were made."""
    settings = FeatureSettings.from_training(training, cut)
    data = training_data(paths, settings, h_eth=training["h_eth"], h_mbl=training["h_mbl"],
                         edge_fraction=training["edge_fraction"], tr_max_spectra=training["tr_max_spectra"],
                         seed=training["seed"], trim_tr=training["trim_tr"])
    ensemble = train_ensemble(data, members=range(training["members"]), config=TrainingConfig.from_training(training),
                              progress=progress)
    ensemble.config["data"] = {**settings.as_dict(), "h_eth": training["h_eth"], "h_mbl": training["h_mbl"],
                               "edge_fraction": training["edge_fraction"], "trim_tr": bool(training["trim_tr"]),
                               "n_td": int(len(data.td_x)), "n_tr": int(len(data.tr_x))}
    return ensemble
