"""The model of a campaign beyond Eq. (5): which ``model`` keys a sample records and a job depends on.

The paper's model (J, the sector sz, Δ = 1, J2 = 0, uniform fields, open boundaries) is recorded as it always was:
J and sz, no more. Any other model is recorded whole (:func:`model_extension`), so that the stores and the job
commands of a paper-model campaign stay byte-identical while every other model names everything that defines it.
"""

from __future__ import annotations

from collections.abc import Mapping

from mblnn.schema import default

#: the ``model`` keys beyond J and sz, in the order a record lists them
EXTENSION_KEYS = ("delta", "J2", "fields", "beta", "boundary")


def model_extension(model: Mapping) -> dict:
    """``{}`` for the paper's model; otherwise every key of :data:`EXTENSION_KEYS` as ``model`` has it (missing
    keys: their schema default), ``beta`` only with quasiperiodic fields (the only ones that read it)."""
    values = {key: model.get(key, default(f"model.{key}")) for key in EXTENSION_KEYS}
    if values["fields"] != "quasiperiodic":
        del values["beta"]
    paper = {key: default(f"model.{key}") for key in values}
    return {} if values == paper else values


def chain_record(store_attrs: Mapping) -> dict:
    """The chain a sample store holds, from its provenance attributes: J, sz and the model beyond Eq. (5) (the
    store's ``model`` entry, absent for the paper's)."""
    return {"J": float(store_attrs["J"]), "sz": float(store_attrs["sz"]), **store_attrs.get("model", {})}


def paper_chain() -> dict:
    """The :func:`chain_record` of Eq. (5) in the default sector (what an ensemble that records no chain learned)."""
    return {"J": float(default("model.J")), "sz": float(default("model.sz"))}


def is_paper_chain(record: Mapping) -> bool:
    """Whether a :func:`chain_record` is Eq. (5) in its default sector (J = 1, sz = 0, nothing more)."""
    return dict(record) == paper_chain()


def describe_model(model: Mapping) -> str:
    """A short text of a model beyond Eq. (5) for titles (``""`` for the paper's): e.g. "Δ = 0.5, J2 = 0.3,
    quasiperiodic fields (β = 0.618034), periodic chain"."""
    extension = model_extension(model)
    if not extension:
        return ""
    parts = [f"Δ = {extension['delta']:g}"] if extension["delta"] != default("model.delta") else []
    parts += [f"J2 = {extension['J2']:g}"] if extension["J2"] != default("model.J2") else []
    if extension["fields"] != default("model.fields"):
        parts.append(f"{extension['fields']} fields" + (f" (β = {extension['beta']:g})" if "beta" in extension else ""))
    parts += [f"{extension['boundary']} chain"] if extension["boundary"] != default("model.boundary") else []
    return ", ".join(parts)
