"""One ensemble from sample stores: the TD/TR data of one (N, cut) and the trainer, configured by a variant's
resolved ``training`` section (:func:`mblnn.config.variant_training`; every key has its default in the schema).

No ensemble with failed networks leaves here unannounced: a network whose test accuracy η is below
``training.min_accuracy`` or that diverged (:meth:`Ensemble.diverged`) is retrained from a new initialization (member
index ``m + attempt · RETRAIN_STRIDE``: its own initialization, split, batches and dropout, the same on every rerun),
up to ``training.retrain_attempts`` times; one still failed then raises :class:`mblnn.errors.EnsembleError`, unless
``training.allow_failed_members`` keeps it. The ensemble's ``config`` records every retraining (``retrained``) and
the networks kept failed (``failed_members``); the classification stores carry both into the summary table.

``training.learning_rate: auto`` chooses the step by the paper's criterion, "optimal minimization of the error on
the training data" (Sec. II), per ensemble (:func:`train_at_chosen_step`): the steps of ``training.step_scan.grid`` are tried
from the largest on the ensemble's first networks, each for the same path length λ × steps; the first step whose
networks all reach ``min_accuracy`` on their own training halves without diverging trains the whole ensemble, and is
chosen if none of its networks fails (else the next step is tried). The scan is recorded (``step_scan``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import replace

from mblnn.errors import EnsembleError
from mblnn.learn.features import FeatureSettings, training_data
from mblnn.learn.network import Ensemble, Progress, TrainingConfig, TrainingData, accuracy, train_ensemble
from mblnn.model.chain import chain_record, is_paper_chain
from mblnn.store.samples import open_sample_store

#: member indices of retrained networks: attempt a of member m is member m + a · RETRAIN_STRIDE, beyond the indices of
#: any ensemble's own members (a member's random numbers depend on its index only, mblnn.learn.network)
RETRAIN_STRIDE = 1 << 20


def train_from_samples(paths: Sequence[str | os.PathLike], cut: int, training: dict,
                       progress: Progress | None = None, variant: str | None = None) -> Ensemble:
    """Train ``training["members"]`` networks on the spectra of cut N_A = ``cut`` of the stores ``paths`` (one N;
    those at h_eth and h_mbl label TD, those between form TR), failed networks retrained (module docstring). The
    returned ensemble's ``config["data"]`` records how its inputs were made. Raises :class:`EnsembleError`, naming N,
    the cut and ``variant``, if networks are still failed and not allowed."""
    settings = FeatureSettings.from_training(training, cut)
    data = training_data(paths, settings, h_eth=training["h_eth"], h_mbl=training["h_mbl"],
                         edge_fraction=training["edge_fraction"], tr_max_spectra=training["tr_max_spectra"],
                         seed=training["seed"], trim_tr=training["trim_tr"])
    auto = training["learning_rate"] == "auto"
    config = TrainingConfig.from_training({**training, "learning_rate": max(training["step_scan"]["grid"])} if auto else training)
    ensemble = train_checked(data, range(training["members"]), config, min_accuracy=training["min_accuracy"],
                             attempts=training["retrain_attempts"], progress=progress,
                             step_scan=training["step_scan"] if auto else None)
    ensemble.config["data"] = {**settings.as_dict(), "h_eth": training["h_eth"], "h_mbl": training["h_mbl"],
                               "edge_fraction": training["edge_fraction"], "trim_tr": bool(training["trim_tr"]),
                               "n_td": int(len(data.td_x)), "n_tr": int(len(data.tr_x))}
    chain = chain_record(open_sample_store(paths[0]).attrs)
    if not is_paper_chain(chain):  # the chain it learned from, for a classification of another model's spectra
        ensemble.config["data"]["chain"] = chain
    if ensemble.config["failed_members"] and not training["allow_failed_members"]:
        N = open_sample_store(paths[0], cut=cut).N
        what = f"N = {N}, cut N_A = {cut}" + (f", variant {variant}" if variant else "")
        raise EnsembleError(failure_message(ensemble, what, training))
    return ensemble


def scan_steps(steps: int, rate: float, largest: float, max_steps: int) -> int:
    """Optimizer steps at step size ``rate`` for the path length of ``steps`` steps at ``largest``:
    ``steps · largest / rate`` rounded up, at most ``max_steps`` (never fewer than ``steps``)."""
    if rate >= largest:
        return steps
    return max(steps, min(max_steps, math.ceil(steps * largest / rate - 1e-9)))


def train_at_chosen_step(data: TrainingData, members: Sequence[int], config: TrainingConfig, step_scan: dict,
                         min_accuracy: float, progress: Progress | None = None) -> tuple[TrainingConfig, Ensemble, list[dict]]:
    """``learning_rate: auto`` (module docstring): the configuration of the chosen step (and its steps), the ensemble
    trained with it, and the scan's record. Per step of the grid, from the largest: the ensemble's first
    ``step_scan["members"]`` networks train for the same path length; if each classifies its own training half with
    accuracy >= ``min_accuracy`` and none diverged (:meth:`Ensemble.diverged`), the whole ensemble trains with that
    step, and the step is chosen if none of its networks failed (:meth:`Ensemble.failed`); otherwise the next step is
    tried. The smallest step's ensemble is kept whatever it gives (its failed networks then face the retraining of
    :func:`train_checked`); there the first networks' record is read from that ensemble. Recorded per step tried: λ, steps, the scan networks' training-half accuracies and
    divergences, the failed networks of the whole ensemble (when it trained), accepted. ``config.steps`` are the steps
    of the largest step of the grid."""
    grid = sorted(step_scan["grid"], reverse=True)
    members = list(members)
    record = []
    first = slice(0, step_scan["members"])
    for rate in grid:
        trial = replace(config, learning_rate=float(rate), steps=scan_steps(config.steps, rate, grid[0], step_scan["max_steps"]))
        last = rate == grid[-1]
        # the smallest step trains the whole ensemble whatever its first networks do: they are read from it, not
        # trained twice
        scanned = None if last else train_ensemble(data, members=members[first], config=trial)
        if scanned is not None:
            on_training, diverged = accuracy(scanned, data, "train"), scanned.diverged()
            if diverged.any() or (on_training < min_accuracy).any():
                record.append(_scan_entry(trial, on_training, diverged, None))
                continue
        # the whole ensemble as one program: exactly the ensemble a fixed learning_rate of this step gives (members
        # trained in ensembles of other sizes agree only to float32 rounding, which training amplifies)
        ensemble = train_ensemble(data, members=members, config=trial, progress=progress)
        if last:
            on_training, diverged = accuracy(ensemble, data, "train")[first], ensemble.diverged()[first]
        failed = [int(ensemble.members[p]) for p in ensemble.failed(min_accuracy)]
        record.append(_scan_entry(trial, on_training, diverged, failed))
        if not failed or last:
            return trial, ensemble, record
    raise AssertionError("unreachable: the smallest step always returns")


def _scan_entry(trial: TrainingConfig, on_training, diverged, ensemble_failed: list[int] | None) -> dict:
    """One step of the scan's record: λ, steps, the first networks' training-half accuracies and divergences, the
    failed networks of the whole ensemble (None when it did not train), accepted."""
    return {"learning_rate": float(trial.learning_rate), "steps": trial.steps, "train_accuracy": on_training.tolist(),
            "diverged": diverged.tolist(), "ensemble_failed": ensemble_failed, "accepted": ensemble_failed == []}


def train_checked(data: TrainingData, members: Sequence[int], config: TrainingConfig, min_accuracy: float,
                  attempts: int, progress: Progress | None = None, step_scan: dict | None = None) -> Ensemble:
    """:func:`mblnn.learn.network.train_ensemble` (with ``step_scan``: at the step :func:`train_at_chosen_step` chooses),
    then every failed network (:meth:`Ensemble.failed`) retrained from a new initialization up to ``attempts`` times.
    ``config["retrained"]`` lists per original member index the failed attempts (member index, η, whether its cost
    diverged) and the index kept; ``config["failed_members"]`` the original indices of the networks that failed every
    attempt (kept as their last attempt); ``config["step_scan"]`` the scan (None for a fixed step)."""
    scanned = None
    if step_scan is None:
        ensemble = train_ensemble(data, members=members, config=config, progress=progress)
    else:
        config, ensemble, scanned = train_at_chosen_step(data, members, config, step_scan, min_accuracy, progress)
    history: dict[int, list[dict]] = {}

    def record(positions) -> None:
        diverged = ensemble.diverged()
        for position in positions:
            index = int(ensemble.members[position])
            history.setdefault(index % RETRAIN_STRIDE, []).append(
                {"member": index, "eta": float(ensemble.test_accuracy[position]), "diverged": bool(diverged[position])})

    for attempt in range(1, attempts + 1):
        failed = ensemble.failed(min_accuracy)
        if not failed.size:
            break
        record(failed)
        fresh = [int(ensemble.members[p]) % RETRAIN_STRIDE + attempt * RETRAIN_STRIDE for p in failed]
        ensemble = ensemble.with_members_replaced(failed, train_ensemble(data, members=fresh, config=config))
    still = ensemble.failed(min_accuracy)
    record(still)  # their last attempt, kept
    kept = {int(m) % RETRAIN_STRIDE: int(m) for m in ensemble.members}
    ensemble.config["min_accuracy"] = float(min_accuracy)
    ensemble.config["retrained"] = [{"member": original, "failed": tries, "kept": kept[original]}
                                    for original, tries in sorted(history.items())]
    ensemble.config["failed_members"] = sorted(int(ensemble.members[p]) % RETRAIN_STRIDE for p in still)
    ensemble.config["step_scan"] = scanned
    return ensemble


def failure_message(ensemble: Ensemble, what: str, training: dict) -> str:
    """Which networks of ``what`` (e.g. "N = 14, cut N_A = 7, variant main") failed, with their η, and what to change."""
    failed = ensemble.failed(training["min_accuracy"])
    diverged = ensemble.diverged()
    listed = ", ".join(f"{int(ensemble.members[p]) % RETRAIN_STRIDE} (eta {ensemble.test_accuracy[p]:.4f}"
                       f"{', cost diverged' if diverged[p] else ''})" for p in failed[:20])
    more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
    return (f"{what}: {len(failed)} of {len(ensemble.members)} networks failed (test accuracy eta below "
            f"training.min_accuracy = {training['min_accuracy']}, or a diverged cost) after "
            f"{training['retrain_attempts']} retrainings from new initializations each: networks {listed}{more}. "
            f"What to change: a smaller training.learning_rate (now {ensemble.config['learning_rate']:g} with "
            f"{training['optimizer']}{', chosen by the step scan' if ensemble.config.get('step_scan') else ''}), more "
            f"training.steps (now {ensemble.config['steps']}), or training.retrain_attempts; "
            f"or keep them with training.allow_failed_members: true (the summary and the report then flag them)")
