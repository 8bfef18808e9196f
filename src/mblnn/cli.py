"""Command line interface: ``mblnn <command> ...``; the workflow's rules call these commands.

Every setting with a home in the campaign config comes in through ``--config JSON``: the config sections the
command uses (``{"training": {"steps": 100}}``), validated against the schema, which fills in every default
(src/mblnn/schemas/config.schema.yaml is the one place defaults are written). The rules pass exactly the keys a
job depends on, so Snakemake's params trigger reruns a job when, and only when, one of them changes. What is not
a config setting (the sample's N, h̄ and realization, the cut, input and output paths) is an option of its own.

``mblnn COMMAND --help`` describes each command; :data:`COMMANDS` lists them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from mblnn.errors import InputError, MemoryBudgetError
from mblnn.solve.settings import SOLVER_CHOICES


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from error


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from error


def _named_path(text: str) -> tuple[str, str]:
    name, _, path = text.partition("=")
    if not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def _config(args: argparse.Namespace) -> dict:
    from mblnn.config import parse_config_json

    return parse_config_json(args.config)


def _say(args: argparse.Namespace, *lines: str) -> None:
    if not getattr(args, "quiet", False):
        print(*lines, sep="\n", flush=True)


def _spectrum(args: argparse.Namespace) -> int:
    from mblnn.config import solver_for
    from mblnn.memory import describe_memory_budget
    from mblnn.sample import SampleSpec, diagonalize_sample
    from mblnn.solve.settings import SolverSettings
    from mblnn.store.samples import write_sample_store

    config = _config(args)
    spec = SampleSpec.from_model(config["model"], N=args.N, hbar=args.hbar, seed=config["seed"],
                                 realization=args.realization, cuts=args.cuts or (), fields=args.fields)
    max_memory = None if args.max_memory_gb is None else int(args.max_memory_gb * 2**30)
    started = time.perf_counter()
    budget = describe_memory_budget() if max_memory is None else f"{args.max_memory_gb} GiB (--max-memory-gb)"
    solver = args.solver or solver_for(config, args.N)
    result = diagonalize_sample(spec, SolverSettings.from_config(config, solver, max_memory))
    if result is None:  # MPI ranks other than 0: rank 0 writes
        return 0
    write_sample_store(result, args.out)
    ranks = result.diagnostics.get("ranks")
    _say(args, f"N={spec.N} hbar={spec.hbar} realization={spec.realization} solver={result.solver['name']}"
               + (f" on {ranks} MPI ranks ({_launched_by()})" if ranks else "") + ": "
               f"{result.energies.size} states, cuts {list(result.spec.cuts)}, {time.perf_counter() - started:.2f} s -> {args.out}",
         f"memory budget at the start: {budget}")
    return 0


def _launched_by() -> str:
    """Which launcher started this MPI process, from the environment it sets: srun (a Slurm job step), Open MPI's
    mpiexec, or another."""
    # mpiexec's ranks carry OMPI_COMM_WORLD_*, even inside Slurm (where its daemons are a job step); srun's do not
    if "OMPI_COMM_WORLD_SIZE" in os.environ:
        return "mpiexec"
    if "SLURM_STEP_ID" in os.environ:
        return f"srun, Slurm job {os.environ.get('SLURM_JOB_ID', '?')} step {os.environ['SLURM_STEP_ID']}"
    return "launcher unknown"


def _inspect(args: argparse.Namespace) -> int:
    from mblnn.store.samples import describe

    text = "\n".join(describe(path) for path in args.paths)
    print(text)
    return 1 if "INCOMPLETE" in text or "  incomplete: " in text else 0


def _check_config(args: argparse.Namespace) -> int:
    from mblnn.config import campaign_files, campaign_record, load_config, read_config_json

    overrides = read_config_json(args.config)
    files = campaign_files(args.files)
    config = load_config(*files, overrides=overrides)
    record = campaign_record(config, files, overrides)
    if args.out:
        from mblnn.store.atomic import atomic_write

        atomic_write(args.out, lambda temporary: temporary.write_text(record))
    if args.show:
        print(record, end="")
    if args.stack:
        from mblnn.memory import available_memory_bytes
        from mblnn.config import mpi_sizes

        print("mpi" if mpi_sizes(config, available_memory_bytes()) else "python")
        return 0
    print(f"{' + '.join(map(str, files))}{' + --config' if overrides else ''}: valid; sizes {config['sizes']}, "
          f"{len(config['hbar'])} hbar values, {config['realizations']} realizations, campaign {config['campaign']['type']}",
          file=sys.stderr if args.show else sys.stdout)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from mblnn.store.layout import remove_store
    from mblnn.store.samples import verify

    results = verify(args.paths)
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "unverifiable", "bad")}
    for result in results:
        if args.verbose or result.status == "bad":
            print(result)
    unverifiable = [r for r in results if r.status == "unverifiable"]
    if unverifiable and not args.verbose:
        print(f"{len(unverifiable)} stores written before digests cannot be verified, e.g. {unverifiable[0].path}")
    print(f"{len(results)} stores: {counts['ok']} ok, {counts['unverifiable']} unverifiable, {counts['bad']} bad")
    bad = [r.path for r in results if r.status == "bad" and r.path.exists()]
    if args.remove_bad and bad:
        for path in bad:
            remove_store(path)
            print(f"removed {path}")
        print("rerun the workflow (the same snakemake or make command): it redoes exactly the removed stores and what depends on them")
        return 0
    return 1 if counts["bad"] else 0


def _report(args: argparse.Namespace) -> int:
    from mblnn.plot.report import write_report

    out = write_report(args.figures, args.out, captions=args.captions, summary=args.summary, title=args.title)
    _say(args, f"report with {len(args.figures)} figures -> {out}")
    return 0


def _progress_printer(command: str, started: float):
    """A progress callback printing one flushed line (step, median cost terms, elapsed, ETA), for logs
    that a user follows with ``tail -f`` or in a Slurm job's output."""
    import numpy as np

    def report(step: int, steps: int, terms=None) -> None:
        elapsed = time.perf_counter() - started
        eta = elapsed / step * (steps - step)
        costs = ""
        if terms is not None:  # training: the cost terms (M, 3) of the networks at this step
            ce, entropy, decay = np.median(np.asarray(terms), axis=0)
            costs = f", median over networks: cross entropy {ce:.4g}, entropy {entropy:.4g}, decay {decay:.4g}"
        print(f"{command}: step {step}/{steps}{costs}; {elapsed:.0f} s elapsed, about {eta:.0f} s to go", flush=True)
    return report


def _train(args: argparse.Namespace) -> int:
    from mblnn.config import variant_training
    from mblnn.learn.train import train_from_samples

    config = _config(args)
    variant = args.variant or next(iter(config["training"]["variants"]))
    training = variant_training(config, variant)
    started = time.perf_counter()
    ensemble = train_from_samples(args.samples, args.cut, training, variant=variant,
                                  progress=None if args.quiet else _progress_printer("train", started))
    ensemble.save(args.out)
    eta, data = ensemble.test_accuracy, ensemble.config["data"]
    _say(args, f"{training['members']} networks, TD {data['n_td']} / TR {data['n_tr']} spectra of {ensemble.config['n_in']} "
               f"inputs, {ensemble.config['steps']} steps of {ensemble.config['learning_rate']:g} in "
               f"{time.perf_counter() - started:.1f} s: test accuracy min {eta.min():.4f} "
               f"mean {eta.mean():.4f} -> {args.out}")
    for trial in ensemble.config["step_scan"] or ():
        whole = trial["ensemble_failed"]
        failed = "" if whole is None else f"; the whole ensemble: {len(whole)} network{'' if len(whole) == 1 else 's'} failed"
        _say(args, f"step scan: lambda {trial['learning_rate']:g}, {trial['steps']} steps: accuracy on the training "
                   f"halves min {min(trial['train_accuracy']):.4f}{', a cost diverged' if any(trial['diverged']) else ''}"
                   f"{failed} -> {'chosen' if trial['accepted'] else 'rejected'}")
    for entry in ensemble.config["retrained"]:
        tries = ", ".join(f"{t['member']} (eta {t['eta']:.4f}{', diverged' if t['diverged'] else ''})" for t in entry["failed"])
        _say(args, f"network {entry['member']} failed as {tries}; kept its retrained attempt, member index "
                   f"{entry['kept']} (m + attempt · 2^20: docs/learning.md)")
    if ensemble.config["failed_members"]:
        print(f"mblnn train: warning: networks {ensemble.config['failed_members']} failed every attempt and are kept "
              f"(training.allow_failed_members): the summary and the report flag this ensemble", file=sys.stderr)
    return 0


def _classify(args: argparse.Namespace) -> int:
    from mblnn.learn.classify import classify_samples

    out = classify_samples(args.ensemble, args.samples, args.out, variant=args.variant,
                           threshold=_config(args)["analysis"]["threshold"])
    _say(args, f"classified {len(args.samples)} samples -> {out}")
    return 0


def _dream(args: argparse.Namespace) -> int:
    from mblnn.learn.dream import dream_from_samples, write_dream
    from mblnn.learn.network import Ensemble

    config = _config(args)
    arrays = dream_from_samples(args.samples, Ensemble.load(args.ensemble), args.target, config["dreaming"],
                                config["training"]["seed"],
                                progress=None if args.quiet else _progress_printer("dream", time.perf_counter()))
    write_dream(args.out, arrays)
    _say(args, f"dreamed {arrays['start'].shape[0]} spectra towards {args.target} with {arrays['dreamed'].shape[0]} networks: "
               f"mean MBL confidence {arrays['confidence_start'].mean():.3f} -> {arrays['confidence_end'].mean():.3f} -> {args.out}")
    return 0


def _table(args: argparse.Namespace) -> int:
    from mblnn.analyse.registry import TableInputs, build_table
    from mblnn.analyse.tables import write_table

    inputs = TableInputs(samples=args.samples, classified=args.classified, dreams=args.dreams, confusion=args.confusion,
                         tables=dict(args.table or []))
    table = build_table(args.name, inputs, _config(args))
    write_table(table, args.out)
    _say(args, table.to_string(index=False, max_rows=40))
    return 0


def _confusion(args: argparse.Namespace) -> int:
    from mblnn.analyse.tables import write_table
    from mblnn.learn.confusion import confusion_from_samples, confusion_transition

    def report(N, eps, n_spectra, per_network, seconds):
        best, spread = confusion_transition(per_network)
        _say(args, f"N = {N}, eps = {eps}: {n_spectra} spectra, {len(per_network)} networks in {seconds:.1f} s; "
                   f"confusion peak (middle of the W) at hbar' = {best:g} (repeat spread {spread:.2g})")

    config = _config(args)
    if "finite_size" not in config:
        raise InputError('confusion: --config needs the finite_size section ({"finite_size": {"fit_range": [...], ...}})')
    write_table(confusion_from_samples(args.samples, args.cut, config["training"], config["finite_size"], report), args.out)
    return 0


def _plot(args: argparse.Namespace) -> int:
    import pandas as pd

    from mblnn.plot.catalogue import FIGURES
    from mblnn.plot.figures import draw, save_figure

    if args.name not in FIGURES:
        raise InputError(f"unknown figure {args.name!r}; figures: {', '.join(FIGURES)}")
    overlays = {name: pd.read_csv(path) for name, path in (args.overlay or [])}
    for path in save_figure(draw(args.name, pd.read_csv(args.table), **overlays), args.out):
        _say(args, str(path))
    return 0


CONFIG_HELP = "config sections as JSON, e.g. '{\"training\": {\"steps\": 100}}' (missing keys: the schema's defaults)"


def _spectrum_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--N", type=int, required=True, help="number of sites (even for sz=0)")
    parser.add_argument("--hbar", type=float, required=True, help="disorder strength: h_r uniform in [-hbar, hbar]")
    parser.add_argument("--realization", type=int, default=0, help="disorder realization index (default 0)")
    parser.add_argument("--cuts", type=_ints, help="comma-separated N_A values (default N/2)")
    parser.add_argument("--fields", type=_floats, help="explicit fields h_1,...,h_N (replace the random draw)")
    parser.add_argument("--solver", choices=SOLVER_CHOICES,
                        help="(default: the config's solver section for this N) dense: LAPACK, all states; dense_mpi: ScaLAPACK under MPI, all states; shift_invert: "
                             "SLEPc under MPI, nev states per target; filter: the same by a polynomial filter (no factorization); auto: dense if it fits in memory, else shift_invert")
    parser.add_argument("--max-memory-gb", type=float, help="memory budget of the dense solve (default: available memory)")
    parser.add_argument("--config", default="{}", help=CONFIG_HELP + "; sections seed, model, solver, dense, shift_invert, filter")
    parser.add_argument("--out", required=True, help="output Zarr store: a directory (sample.zarr) or one zip archive (sample.zarr.zip)")


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("samples", nargs="+", help="sample stores of one N: those at h_eth and h_mbl label TD, those between form TR")
    parser.add_argument("--cut", type=int, required=True, help="entanglement cut N_A whose spectra are the inputs")
    parser.add_argument("--variant", default=None, help="training.variants entry whose delta, mu and overrides apply "
                                                        "(default: the first)")
    parser.add_argument("--config", default="{}", help=CONFIG_HELP + "; section training")
    parser.add_argument("--out", required=True, help="output ensemble (.npz)")


def _classify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("samples", nargs="+", help="sample stores of the ensemble's N")
    parser.add_argument("--ensemble", required=True, help="ensemble written by 'mblnn train'")
    parser.add_argument("--variant", required=True, help="name of the ensemble's variant in the tables")
    parser.add_argument("--config", default="{}", help=CONFIG_HELP + "; key analysis.threshold")
    parser.add_argument("--out", required=True, help="output classification store: a directory (*.zarr) or one zip archive (*.zarr.zip)")


def _dream_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("samples", nargs="+", help="sample stores of the ensemble's N (TR ones give the starting spectra)")
    parser.add_argument("--ensemble", required=True, help="ensemble written by 'mblnn train'")
    parser.add_argument("--target", required=True, choices=("eth", "mbl"))
    parser.add_argument("--config", default="{}", help=CONFIG_HELP + "; sections dreaming, training.seed")
    parser.add_argument("--out", required=True, help="output (.npz)")


def _table_arguments(parser: argparse.ArgumentParser) -> None:
    # names are checked by the registry when the table is built: importing it here would slow every command
    parser.add_argument("name", help="the table, a name of mblnn.analyse.registry.TABLES (e.g. phase_diagram)")
    parser.add_argument("--samples", nargs="*", default=[], help="sample stores")
    parser.add_argument("--classified", nargs="*", default=[], help="classification stores of 'mblnn classify'")
    parser.add_argument("--dreams", nargs="*", default=[], help="dream archives of 'mblnn dream' (.npz)")
    parser.add_argument("--confusion", nargs="*", default=[], help="per-network tables of 'mblnn confusion' (.csv)")
    parser.add_argument("--table", type=_named_path, action="append", metavar="NAME=PATH",
                        help="another table this one reads (repeatable), e.g. level_statistics=results/tables/level_statistics.csv")
    parser.add_argument("--config", default="{}", help=CONFIG_HELP + "; the table's keys")
    parser.add_argument("--out", required=True, help="output table (.csv; a .parquet is written beside it)")


def _confusion_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("samples", nargs="+", help="sample stores of one N, every hbar")
    parser.add_argument("--cut", type=int, required=True, help="entanglement cut N_A whose spectra are the inputs")
    parser.add_argument("--config", default="{}", help=CONFIG_HELP + "; sections finite_size, training (inputs)")
    parser.add_argument("--out", required=True, help="per-network table (.csv; a .parquet is written beside it)")


def _plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the figure, a name of mblnn.plot.catalogue.FIGURES (e.g. phase_diagram)")
    parser.add_argument("table", help="the table it draws (.csv)")
    parser.add_argument("--overlay", type=_named_path, action="append", metavar="NAME=PATH",
                        help="a table drawn over it, e.g. crossings=results/tables/crossings.csv")
    parser.add_argument("--out", required=True, help="output figure (.png; a .pdf is written beside it)")


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="sample stores (*.zarr, *.zarr.zip) or directories holding them")


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="stores (*.zarr, *.zarr.zip) or directories searched for them (e.g. results/)")
    parser.add_argument("--remove-bad", action="store_true",
                        help="delete damaged and incomplete stores, so that a rerun of the workflow redoes exactly them")
    parser.add_argument("--verbose", action="store_true", help="one line per store, not only the bad ones")


def _check_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", help="campaign files, merged in order (e.g. config/study/n12_check.yaml "
                        "config/study/seed1.yaml); none: the default campaign config/config.yaml")
    parser.add_argument("--config", default="{}", help="config sections on top of the files, as JSON (what Snakemake's "
                        "--config does), e.g. '{\"training\": {\"steps\": 100}}'")
    parser.add_argument("--show", action="store_true", help="print the resolved configuration (every key, defaults "
                        "included) as YAML that is itself a campaign file")
    parser.add_argument("--out", help="write that YAML to this file too (the workflow's results/campaign.yaml)")
    parser.add_argument("--stack", action="store_true", help="print only the software the campaign needs on this "
                        "machine: 'mpi' (a solver under MPI: PETSc/SLEPc, `make setup-mpi`) or 'python' (`make setup`)")


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("figures", nargs="+", help="PNG figures, in the order they appear")
    parser.add_argument("--captions", help="Jinja caption template (workflow/report/figure.rst)")
    parser.add_argument("--summary", help="the summary table (results/tables/summary.csv)")
    parser.add_argument("--title", default="mblnn campaign")
    parser.add_argument("--out", required=True, help="output HTML file")


#: name: (help, arguments, handler, has --quiet)
COMMANDS = {
    "spectrum": ("diagonalize one sample and write its physics (MPI solvers: run under mpirun/srun)", _spectrum_arguments, _spectrum, True),
    "train": ("train a confidence-optimized ensemble (Eq. 7/8) on the stores of one N", _train_arguments, _train, True),
    "classify": ("MBL confidence of every eigenstate of sample stores", _classify_arguments, _classify, True),
    "dream": ("gradient descent on transition-region inputs towards a class (Sec. V D)", _dream_arguments, _dream, True),
    "confusion": ("learning by confusion on the spectra of one N (writes .csv and .parquet)", _confusion_arguments, _confusion, True),
    "table": ("one table of the campaign (writes .csv and .parquet)", _table_arguments, _table, True),
    "plot": ("draw a table (writes .png and .pdf)", _plot_arguments, _plot, True),
    "report": ("one self-contained HTML page of the summary table and the figures", _report_arguments, _report, True),
    "inspect": ("summarize a sample store or a campaign directory", _inspect_arguments, _inspect, False),
    "verify": ("check sample and classification stores against their recorded digests", _verify_arguments, _verify, False),
    "check-config": ("validate a campaign (its files merged in order; none: config/config.yaml) and show what it resolves to", _check_config_arguments, _check_config, False),
}


def build_parser() -> argparse.ArgumentParser:
    from mblnn import __version__

    parser = argparse.ArgumentParser(
        prog="mblnn", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="mblnn: many-body localization of the random-field Heisenberg chain probed with neural networks "
                    "(Schindler, Regnault & Neupert, PRB 95, 245134).",
        epilog="Run `mblnn COMMAND --help` for a command's options; the workflow (Snakefile) calls these commands.")
    parser.add_argument("--version", action="version", version=f"mblnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (text, arguments, handler, quiet) in COMMANDS.items():
        command = commands.add_parser(name, help=text, description=text)
        arguments(command)
        if quiet:
            command.add_argument("--quiet", action="store_true")
        command.set_defaults(handler=handler)
    return parser


def _abort_mpi_job_on_failure() -> None:
    """Under MPI, an exception on one rank would leave the others waiting forever in a collective
    call (a hung cluster job): abort the whole job instead. Input errors are raised identically on
    every rank before any collective, so they still end with a clean message and exit code 2."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1:
        sys.stderr.flush()
        mpi.COMM_WORLD.Abort(3)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as shell tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except BaseException:
        _abort_mpi_job_on_failure()
        raise


def _run(args: argparse.Namespace) -> int:
    from mblnn.slurm import not_retried_reason

    refused = not_retried_reason(getattr(args, "out", None))
    if refused:  # the workflow's retry of a job a user cancelled: end before any work
        print(f"mblnn {args.command}: {refused}", file=sys.stderr)
        return 3
    if not getattr(args, "quiet", False):
        import logging

        # progress of long solves (mblnn.sample's logger), flushed line by line into the job's log
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger("mblnn").addHandler(handler)
        logging.getLogger("mblnn").setLevel(logging.INFO)
    try:
        return args.handler(args)
    except InputError as error:
        print(f"mblnn {args.command}: error: {error}", file=sys.stderr)
        if isinstance(error, MemoryBudgetError) and getattr(args, "out", None):
            from mblnn.slurm import mark_short_of_memory

            mark_short_of_memory(args.out, str(error))  # the workflow's retry then asks for more memory
        return 2
    except RuntimeError as error:  # solver failures (mblnn.solve.mpi.SolverError)
        if type(error).__name__ != "SolverError":
            raise
        print(f"mblnn {args.command}: solver error: {error}", file=sys.stderr)
        _abort_mpi_job_on_failure()
        return 3


if __name__ == "__main__":
    sys.exit(main())
