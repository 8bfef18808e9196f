"""Where a campaign's configuration comes from: the files named (merged key by key), or the default campaign; the
command line's overrides; the record of what was read (results/campaign.yaml)."""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import yaml

from mblnn.config.checks import validate_config
from mblnn.schema import DEFAULT_SCHEMA, ConfigError

#: The default campaign (``make run``): what runs when no campaign file is named — the checkout's config/config.yaml
#: (an installed package outside a checkout has none; :func:`campaign_files` then asks for a file).
DEFAULT_CAMPAIGN = Path(__file__).resolve().parents[3] / "config" / "config.yaml"


def read_config_file(path: str | os.PathLike) -> dict:
    """Parse one YAML campaign file; a syntax error names the file, the line and the column."""
    try:
        with open(path) as handle:
            config = yaml.safe_load(handle) or {}
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration ({error.strerror})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(path)
        problem = "; ".join(str(part) for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
        raise ConfigError(f"{where}: YAML syntax error: {problem or error}") from error
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a campaign configuration must be a mapping of keys to values")
    return config


def merge_configs(base: dict, overlay: dict) -> dict:
    """Deep merge as Snakemake does with several config files: mappings merge key by key, other values replace."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_configs(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def campaign_files(files: Sequence[str | os.PathLike] = (), default_campaign: str | os.PathLike = DEFAULT_CAMPAIGN) -> list[Path]:
    """The campaign files a run reads: ``files`` in their order, or the default campaign alone when none is named."""
    files = [Path(path) for path in files]
    if not files and not Path(default_campaign).is_file():
        raise ConfigError(f"no campaign file named, and no default campaign at {default_campaign} (mblnn runs outside "
                          "its checkout): name a campaign file")
    return files or [Path(default_campaign)]


def load_config(*paths: str | os.PathLike, overrides: dict | None = None, schema_path: str | os.PathLike = DEFAULT_SCHEMA,
                default_campaign: str | os.PathLike = DEFAULT_CAMPAIGN) -> dict:
    """The validated configuration of the campaign of ``paths`` (module docstring: the one rule for every entry
    point): the files merged in order (later ones override earlier ones key by key), or ``default_campaign`` when no
    path is given; ``overrides`` (config sections, Snakemake's ``--config``) on top; schema defaults for the rest."""
    config: dict = {}
    for path in campaign_files(paths, default_campaign):
        config = merge_configs(config, read_config_file(path))
    return validate_config(merge_configs(config, overrides or {}), schema_path)


def campaign_record(config: dict, files: Sequence[str | os.PathLike], overrides: dict | None = None) -> str:
    """The resolved configuration of a campaign as YAML that is itself a campaign file (``snakemake --configfile``
    of it runs the same campaign), headed by comments that say where it came from: the files read (path and
    SHA-256, in merge order), the command-line overrides and the code (version and commit)."""
    from mblnn import __version__
    from mblnn.provenance import git_revision

    lines = ["# The resolved configuration of this campaign: every key it uses, schema defaults included (mblnn.config).",
             "# Read from, in this order (later files override earlier ones key by key):"]
    for path in files:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        lines.append(f"#   {Path(path).resolve()}  (sha256 {digest})")
    lines.append(f"# overrides (--config): {yaml.safe_dump(overrides, default_flow_style=True).strip() if overrides else 'none'}")
    lines.append(f"# mblnn {__version__}, git {git_revision() or 'n/a'}")
    return "\n".join(lines) + "\n" + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=120)
