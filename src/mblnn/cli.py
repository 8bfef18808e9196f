"""Command line interface: ``mblnn <command> ...``; the workflow rules call these commands.

Commands
--------
``mblnn spectrum``  diagonalize one sample and write energies, ε, r, fields and per-cut entropies,
                    Schmidt gaps and entanglement spectra.
``mblnn levels``    reduce sample stores to a table of mean gap ratios per (N, h̄).
``mblnn inspect``   summarize a sample store or every store below a directory.
``mblnn verify``    check stores against the digests they recorded at completion.
``mblnn check-config``  validate campaign files (merged in order, as Snakemake merges them).
``mblnn train``     train a confidence-optimized ensemble on the sample stores of one N.
``mblnn classify``  classify every eigenstate of sample stores with a trained ensemble.
``mblnn dream``     dream transition-region spectra towards ETH or MBL with an ensemble.
``mblnn table``     reduce classification stores to a phase-diagram table (CSV and Parquet).
``mblnn plot``      draw a table as a figure (PNG and PDF).
``mblnn report``    one self-contained HTML page: the summary table and every figure with its caption.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from mblnn.errors import InputError

TABLE_KINDS = ("phase-diagram", "critical-field", "consistency", "levels-vs-network", "transition-region",
               "single-realization", "spatial-structure", "dreams", "confusion", "summary")
PLOT_KINDS = tuple(k for k in TABLE_KINDS if k != "summary") + ("mobility-edge", "scaling", "disorder-correlation")


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


def _option(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` or a flag ``KEY`` (a PETSc option without its dash)."""
    key, _, value = text.partition("=")
    if not key.strip().lstrip("-"):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE or KEY (a PETSc option without the dash), got {text!r}")
    return key.strip().lstrip("-"), value.strip()


def _spectrum(args: argparse.Namespace) -> int:
    from mblnn.sample import SampleSpec, diagonalize_sample
    from mblnn.store.samples import write_sample_store

    spec = SampleSpec(
        N=args.N, hbar=args.hbar, seed=args.seed, realization=args.realization,
        cuts=args.cuts or (), J=args.J, sz=args.sz, fields=args.fields,
    )
    max_memory = None if args.max_memory_gb is None else int(args.max_memory_gb * 2**30)
    started = time.perf_counter()
    result = diagonalize_sample(
        spec, driver=args.driver, entanglement_method=args.entanglement_method, max_memory=max_memory,
        solver=args.solver, targets=args.targets or (), nev=args.nev, tol=args.tol, residual_tol=args.residual_tol,
        petsc_options=dict(args.petsc_option or []),
    )
    if result is None:  # MPI ranks other than 0: rank 0 writes
        return 0
    write_sample_store(result, args.out)
    if not args.quiet:
        print(
            f"N={spec.N} hbar={spec.hbar} realization={spec.realization} solver={result.solver['name']}: "
            f"{result.energies.size} states, cuts {list(result.spec.cuts)}, {time.perf_counter() - started:.2f} s -> {args.out}"
        )
    return 0


def _levels(args: argparse.Namespace) -> int:
    from mblnn.analyse.tables import level_statistics_table, write_table

    table = level_statistics_table(args.samples, window=(args.eps_min, args.eps_max))
    write_table(table, args.out)
    if not args.quiet:
        print(table.to_string(index=False))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from mblnn.store.samples import describe

    text = "\n".join(describe(path) for path in args.paths)
    print(text)
    return 1 if "INCOMPLETE" in text or "  incomplete: " in text else 0


def _check_config(args: argparse.Namespace) -> int:
    from mblnn.config import load_config

    config = load_config(*args.files)
    print(f"{' + '.join(args.files)}: valid; sizes {config['sizes']}, {len(config['hbar'])} hbar values, "
          f"{config['realizations']} realizations, campaign {config['campaign']['type']}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import shutil

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
            shutil.rmtree(path)
            print(f"removed {path}")
        print("rerun the workflow (the same snakemake or make command): it redoes exactly the removed stores and what depends on them")
        return 0
    return 1 if counts["bad"] else 0


def _report(args: argparse.Namespace) -> int:
    from mblnn.plot.report import write_report

    out = write_report(args.figures, args.out, captions=args.captions, summary=args.summary, title=args.title)
    if not args.quiet:
        print(f"report with {len(args.figures)} figures -> {out}")
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
    from mblnn.learn.features import training_data
    from mblnn.learn.network import TrainingConfig, train_ensemble

    settings = _feature_settings(args)
    data = training_data(args.samples, settings, h_eth=args.h_eth, h_mbl=args.h_mbl, edge_fraction=args.edge_fraction,
                         tr_max_spectra=args.tr_max_spectra, seed=args.seed, trim_tr=args.trim_tr)
    config = TrainingConfig(n_hidden=args.n_hidden, hidden_layers=args.hidden_layers, steps=args.steps, batch=args.batch,
                            delta=args.delta, mu=args.mu, cost_reduction=args.cost_reduction, optimizer=args.optimizer, learning_rate=args.learning_rate,
                            init_std=args.init_std, seed=args.seed, log_every=args.log_every)
    started = time.perf_counter()
    ensemble = train_ensemble(data, members=range(args.members), config=config,
                              progress=None if args.quiet else _progress_printer("train", started))
    ensemble.config["data"] = {**settings.as_dict(), "h_eth": args.h_eth, "h_mbl": args.h_mbl,
                               "edge_fraction": args.edge_fraction, "trim_tr": bool(args.trim_tr),
                               "n_td": int(len(data.td_x)), "n_tr": int(len(data.tr_x))}
    ensemble.save(args.out)
    if not args.quiet:
        eta = ensemble.test_accuracy
        print(f"{args.members} networks, TD {len(data.td_x)} / TR {len(data.tr_x)} spectra of {data.td_x.shape[1]} inputs, "
              f"{config.steps} steps in {time.perf_counter() - started:.1f} s: test accuracy min {eta.min():.4f} "
              f"mean {eta.mean():.4f} -> {args.out}")
    return 0


def _classify(args: argparse.Namespace) -> int:
    from mblnn.learn.classify import classify_samples

    out = classify_samples(args.ensemble, args.samples, args.out, variant=args.variant, threshold=args.threshold)
    if not args.quiet:
        print(f"classified {len(args.samples)} samples -> {out}")
    return 0


def _dream(args: argparse.Namespace) -> int:
    import numpy as np

    from mblnn.store.atomic import atomic_write
    from mblnn.learn.classify import feature_settings_of
    from mblnn.learn.features import sample_features
    from mblnn.learn.dream import dream, select_starts
    from mblnn.learn.network import Ensemble
    from mblnn.store.samples import open_sample_store

    ensemble = Ensemble.load(args.ensemble)
    settings = feature_settings_of(ensemble)
    data = ensemble.config["data"]
    # TD as the ensemble saw it (edges trimmed); TR too, untrimmed unless it was trained with trim_tr
    # (ensembles from before that option trimmed TR)
    tr_trim = data["edge_fraction"] if data.get("trim_tr", True) else None

    def trim(store):
        return tr_trim if data["h_eth"] < float(store.attrs["hbar"]) < data["h_mbl"] else data["edge_fraction"]
    samples = [sample_features(store, settings, trim(store))
               for store in (open_sample_store(p, cut=settings.cut) for p in args.samples)]
    transition = [s for s in samples if data["h_eth"] < s.hbar < data["h_mbl"]]
    if not transition:
        raise InputError(f"dream: no sample store with {data['h_eth']} < hbar < {data['h_mbl']} among those given")
    features = np.concatenate([s.features for s in transition])
    # the start set is chosen with the networks that dream (the first K members), not the whole ensemble
    dreamers = ensemble.first(max(1, min(args.networks, len(ensemble.members))))
    chosen = select_starts(dreamers.confidences(features).mean(axis=0), tuple(args.window), args.max_start, args.seed)
    result = dream(dreamers, features[chosen], args.target, steps=args.steps, step_size=args.step_size,
                   networks=len(dreamers.members), kind=settings.kind,
                   progress=None if args.quiet else _progress_printer("dream", time.perf_counter()))

    def typical(hbar):
        rows = [s.features for s in samples if np.isclose(s.hbar, hbar)]
        return np.median(np.concatenate(rows), axis=0) if rows else np.full(features.shape[1], np.nan, np.float32)

    arrays = {"start": result.start, "dreamed": result.dreamed, "mean": result.mean,
              "confidence_start": result.confidence_start, "confidence_end": result.confidence_end,
              "target": np.int64(result.target), "typical_eth": typical(data["h_eth"]), "typical_mbl": typical(data["h_mbl"]),
              "kind": np.asarray(settings.kind), "steps": np.int64(args.steps), "step_size": np.float64(args.step_size),
              "N": np.int64(samples[0].N), "N_A": np.int64(settings.cut)}

    def write(temporary):
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(args.out, write)
    if not args.quiet:
        print(f"dreamed {len(chosen)} spectra towards {args.target} with {result.dreamed.shape[0]} networks: mean MBL "
              f"confidence {result.confidence_start.mean():.3f} -> {result.confidence_end.mean():.3f} -> {args.out}")
    return 0


def _table(args: argparse.Namespace) -> int:
    import pandas as pd

    from mblnn.analyse import phase as analysis
    from mblnn.learn.classify import open_classification
    from mblnn.analyse.tables import write_table

    opened = [] if args.kind in ("dreams", "levels-vs-network", "confusion") else [open_classification(p) for p in args.classifications]
    if args.kind == "phase-diagram":
        table = analysis.phase_diagram_table(opened, eps_bins=args.eps_bins, threshold=args.threshold)
    elif args.kind == "critical-field":
        curves = analysis.mbl_fraction_curves(opened, args.thresholds)
        per_realization = analysis.critical_field_realizations(curves, args.fractions)
        if args.per_realization:
            write_table(per_realization, args.per_realization)
        table = analysis.critical_field_table(curves, per_realization, args.fractions, replicas=args.replicas, seed=args.seed)
    elif args.kind == "consistency":
        table = analysis.consistency_table(opened, threshold=args.threshold)
        if args.summary:
            if args.h_eth is None or args.h_mbl is None:
                raise InputError("table consistency --summary needs --h-eth and --h-mbl (the transition region lies between)")
            write_table(analysis.consistency_summary(table, args.h_eth, args.h_mbl), args.summary)
    elif args.kind == "transition-region":
        table = analysis.transition_region_table(opened, threshold=args.threshold)
    elif args.kind == "spatial-structure":
        table = analysis.spatial_structure_table(opened, threshold=args.threshold)
    elif args.kind == "single-realization":
        table = pd.concat([analysis.single_realization_table(c, args.realization, args.window, args.threshold)
                           for c in opened], ignore_index=True)
        if args.fine_structure:
            write_table(pd.concat([analysis.fine_structure_table(c, args.realization, args.middle_states) for c in opened],
                                  ignore_index=True), args.fine_structure)
    elif args.kind == "dreams":
        import numpy as np

        def arrays(path):
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        table = analysis.dream_table(arrays(p) for p in args.classifications)
    elif args.kind == "confusion":
        from mblnn.learn.confusion import confusion_table

        table = confusion_table(pd.concat([pd.read_csv(p) for p in args.classifications], ignore_index=True))
    elif args.kind == "summary":
        from mblnn.analyse.summary import campaign_summary

        needed = {"--critical": args.critical, "--levels": args.levels, "--transition": args.transition,
                  "--consistency": args.consistency, "--h-eth": args.h_eth, "--h-mbl": args.h_mbl}
        missing = [name for name, value in needed.items() if value is None]
        if missing:
            raise InputError(f"table summary needs {', '.join(missing)}")
        table = campaign_summary(opened, pd.read_csv(args.critical), pd.read_csv(args.levels), pd.read_csv(args.transition),
                                 pd.read_csv(args.consistency), args.h_eth, args.h_mbl, args.threshold, args.fraction)
    else:  # levels-vs-network
        if not (args.levels and args.phase):
            raise InputError("table levels-vs-network needs --levels and --phase")
        table = analysis.levels_vs_network_table(pd.read_csv(args.levels), pd.read_csv(args.phase), (args.eps_min, args.eps_max))
    write_table(table, args.out)
    if not args.quiet:
        print(table.to_string(index=False, max_rows=40))
    return 0


def _confusion(args: argparse.Namespace) -> int:
    import pandas as pd

    from mblnn.learn.confusion import confusion_transition, learning_by_confusion
    from mblnn.analyse.finite_size import confusion_spectra
    from mblnn.learn.network import TrainingConfig
    from mblnn.analyse.tables import write_table

    settings = _feature_settings(args)
    # confusion (beyond the paper) keeps the optimizer and batch means it was measured with
    config = TrainingConfig(n_hidden=args.n_hidden, steps=args.steps, batch=args.batch, mu=args.mu, optimizer="adam",
                            cost_reduction="mean", learning_rate=args.learning_rate, seed=args.seed, log_every=args.steps)
    frames = []
    spectra, N = confusion_spectra(args.samples, settings, args.eps, args.eps_width, args.max_per_sample, args.seed)
    for eps, (features, hbar) in spectra.items():
        started = time.perf_counter()
        per_network = learning_by_confusion(features, hbar, config, repeats=args.repeats)
        per_network.insert(0, "eps", eps)
        per_network.insert(0, "N", N)
        frames.append(per_network)
        if not args.quiet:
            best, spread = confusion_transition(per_network)
            print(f"N = {N}, eps = {eps}: {len(features)} spectra, {len(per_network)} networks in "
                  f"{time.perf_counter() - started:.1f} s; confusion peak (middle of the W) at hbar' = {best:g} (repeat spread {spread:.2g})")
    write_table(pd.concat(frames, ignore_index=True), args.out)
    return 0


def _finite_size(args: argparse.Namespace) -> int:
    import pandas as pd

    from mblnn.analyse import finite_size
    from mblnn.learn.classify import open_classification
    from mblnn.learn.confusion import confusion_transitions
    from mblnn.analyse.tables import write_table

    ratios = finite_size.gap_ratio_curves(args.samples, args.eps, args.eps_width)
    network = (finite_size.network_curves([open_classification(p) for p in args.classified], args.eps, args.eps_width)
               if args.classified else None)
    write_table(finite_size.mobility_edge_table(ratios, network), args.out)
    crossings = finite_size.crossing_table(ratios, network, level=args.level, replicas=args.replicas, seed=args.seed)
    if args.confusion:
        per_network = pd.concat([pd.read_csv(p) for p in args.confusion], ignore_index=True)
        crossings = pd.concat([crossings, confusion_transitions(per_network)], ignore_index=True)
    write_table(crossings, args.crossings)
    observables = {"gap_ratio": ratios, **({"network": network} if network is not None else {})}
    # the network's output saturates at 0 and 1: only its unsaturated points enter the collapse
    scaling = finite_size.scaling_table(observables, tuple(args.fit_range), args.degree, args.replicas, args.seed,
                                        value_ranges={"network": tuple(args.network_range)})
    write_table(scaling, args.scaling)
    if not args.quiet:
        print(crossings.to_string(index=False, max_rows=60))
        print(scaling.to_string(index=False, max_rows=60))
    return 0


def _plot(args: argparse.Namespace) -> int:
    import pandas as pd

    from mblnn.plot import figures as plotting

    draw = getattr(plotting, "plot_" + args.kind.replace("-", "_"))
    extra = {"crossings": pd.read_csv(args.crossings)} if args.crossings else {}
    for path in draw(pd.read_csv(args.table), args.out, **extra):
        if not args.quiet:
            print(path)
    return 0


def _floor(text: str) -> float | None:
    if text.strip().lower() in ("none", "null", "off"):
        return None
    try:
        return float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1) or 'none', got {text!r}") from error


def _feature_settings(args: argparse.Namespace):
    from mblnn.learn.features import FeatureSettings

    return FeatureSettings(cut=args.cut, fraction=args.fraction, kind=args.input, floor=args.floor)


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    """The network-input options shared by train and confusion (mblnn.learn.features.FeatureSettings)."""
    parser.add_argument("--cut", type=int, required=True, help="entanglement cut N_A whose spectra are the inputs")
    parser.add_argument("--fraction", type=float, default=0.5, help="fraction of the largest-block spectrum kept, lowest levels (default 1/2)")
    parser.add_argument("--input", default="entanglement", choices=("entanglement", "rho", "differences"),
                        help="input kind (Appendix A): levels xi, rho_A eigenvalues, or level differences")
    parser.add_argument("--floor", type=_floor, default=1e-16,
                        help="floor on rho_A eigenvalues, xi <= -ln(floor) (default 1e-16, the paper's; 'none': the store's resolution)")


def build_parser() -> argparse.ArgumentParser:
    from mblnn import __version__

    parser = argparse.ArgumentParser(
        prog="mblnn", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="mblnn: many-body localization of the random-field Heisenberg chain probed with neural networks "
                    "(Schindler, Regnault & Neupert, PRB 95, 245134).",
        epilog="Run `mblnn COMMAND --help` for a command's options; the workflow (Snakefile) calls these commands.")
    parser.add_argument("--version", action="version", version=f"mblnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    spectrum = commands.add_parser(
        "spectrum", help="diagonalize one sample and write its physics (MPI solvers: run under mpirun/srun)")
    spectrum.add_argument("--N", type=int, required=True, help="number of sites (even for sz=0)")
    spectrum.add_argument("--hbar", type=float, required=True, help="disorder strength: h_r uniform in [-hbar, hbar]")
    spectrum.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    spectrum.add_argument("--realization", type=int, default=0, help="disorder realization index (default 0)")
    spectrum.add_argument("--cuts", type=_ints, help="comma-separated N_A values (default N/2)")
    spectrum.add_argument("--fields", type=_floats, help="explicit fields h_1,...,h_N (replace the random draw)")
    spectrum.add_argument("--J", type=float, default=1.0, help="Heisenberg coupling (default 1)")
    spectrum.add_argument("--sz", type=float, default=0.0, help="S^z_tot sector (default 0)")
    spectrum.add_argument("--solver", default="dense", choices=("dense", "dense_mpi", "shift_invert", "auto"),
                          help="dense: LAPACK, all states; dense_mpi: ScaLAPACK under MPI, all states; shift_invert: "
                               "SLEPc under MPI, nev states per target; auto: dense if it fits in memory, else shift_invert")
    spectrum.add_argument("--targets", type=_floats, help="shift-invert target energy densities in [0, 1], e.g. 0.1,0.5,0.9")
    spectrum.add_argument("--nev", type=int, default=100, help="shift-invert eigenpairs per target (default 100)")
    spectrum.add_argument("--tol", type=float, default=1e-10, help="SLEPc convergence tolerance (default 1e-10)")
    spectrum.add_argument("--residual-tol", type=float, default=1e-8, help="largest accepted ‖Hv-Ev‖ (default 1e-8)")
    spectrum.add_argument("--petsc-option", type=_option, action="append", metavar="KEY[=VALUE]",
                          help="PETSc/SLEPc option for the shift-invert solver, e.g. st_pc_type=lu or mat_mumps_icntl_7=5 "
                               "(repeatable; keys as in the options database, without the dash)")
    spectrum.add_argument("--driver", default="evd", choices=("evd", "evr", "ev"), help="LAPACK driver (default evd)")
    spectrum.add_argument("--entanglement-method", default="svd", choices=("svd", "gram"))
    spectrum.add_argument("--max-memory-gb", type=float, help="memory budget for the dense solve (default: available memory)")
    spectrum.add_argument("--out", required=True, help="output Zarr store (a directory, e.g. sample.zarr)")
    spectrum.add_argument("--quiet", action="store_true")
    spectrum.set_defaults(handler=_spectrum)

    levels = commands.add_parser("levels", help="mean gap ratio per (N, hbar) from sample files")
    levels.add_argument("samples", nargs="+", help="sample stores written by 'mblnn spectrum'")
    levels.add_argument("--eps-min", type=float, default=0.0, help="lower edge of the energy-density window")
    levels.add_argument("--eps-max", type=float, default=1.0, help="upper edge of the energy-density window")
    levels.add_argument("--out", required=True, help="output table: writes <stem>.csv and <stem>.parquet")
    levels.add_argument("--quiet", action="store_true")
    levels.set_defaults(handler=_levels)

    inspect = commands.add_parser("inspect", help="summarize a sample store or a campaign directory")
    inspect.add_argument("paths", nargs="+", help="sample stores (*.zarr) or directories holding them")
    inspect.set_defaults(handler=_inspect)

    report = commands.add_parser("report", help="one self-contained HTML page of the summary table and the figures")
    report.add_argument("figures", nargs="+", help="PNG figures, in the order they appear")
    report.add_argument("--captions", help="Jinja caption template (workflow/report/figure.rst)")
    report.add_argument("--summary", help="the summary table (results/tables/summary.csv)")
    report.add_argument("--title", default="mblnn campaign")
    report.add_argument("--out", required=True, help="output HTML file")
    report.add_argument("--quiet", action="store_true")
    report.set_defaults(handler=_report)

    check_config = commands.add_parser("check-config", help="validate campaign YAML files (later files override earlier ones)")
    check_config.add_argument("files", nargs="+", help="e.g. config/config.yaml config/study/seed1.yaml")
    check_config.set_defaults(handler=_check_config)

    check = commands.add_parser("verify", help="check sample and classification stores against their recorded digests")
    check.add_argument("paths", nargs="+", help="stores (*.zarr) or directories searched for them (e.g. results/)")
    check.add_argument("--remove-bad", action="store_true",
                       help="delete damaged and incomplete stores, so that a rerun of the workflow redoes exactly them")
    check.add_argument("--verbose", action="store_true", help="one line per store, not only the bad ones")
    check.set_defaults(handler=_verify)

    train = commands.add_parser("train", help="train a confidence-optimized ensemble (Eq. 7/8) on the stores of one N")
    train.add_argument("samples", nargs="+", help="sample stores of one N: those at h_eth and h_mbl label TD, those between form TR")
    _add_input_options(train)
    train.add_argument("--h-eth", type=float, default=0.25, help="hbar of the ETH-labelled samples (default 0.25)")
    train.add_argument("--h-mbl", type=float, default=12.0, help="hbar of the MBL-labelled samples (default 12)")
    train.add_argument("--edge-fraction", type=float, default=0.1, help="lowest/highest energy fraction dropped from TD")
    train.add_argument("--trim-tr", action="store_true", help="drop the edge fraction from TR too (not the paper's protocol)")
    train.add_argument("--cost-reduction", default="sum", choices=("sum", "mean"),
                       help="sum (Eq. 8 as printed, default) or mean of CE and entropy over the batches")
    train.add_argument("--tr-max-spectra", type=int, help="cap on TR spectra (seeded subsample)")
    train.add_argument("--members", type=int, default=50, help="networks in the ensemble (default 50)")
    train.add_argument("--n-hidden", type=int, default=1024, help="units n2 per hidden layer (default 1024)")
    train.add_argument("--hidden-layers", type=int, default=1, help="hidden layers (default 1, Eq. 7; 2 for level differences, Appendix A)")
    train.add_argument("--steps", type=int, default=3500)
    train.add_argument("--batch", type=int, default=100, help="TD and TR batch size (each)")
    train.add_argument("--delta", type=float, default=1.0, help="weight of the output-entropy term on TR")
    train.add_argument("--mu", type=float, default=1.0, help="weight decay of the first-layer weights")
    train.add_argument("--optimizer", default="sgd", choices=("adam", "sgd"),
                       help="sgd: plain gradient descent, Eq. (4) (default); adam: the fast option")
    train.add_argument("--learning-rate", type=float, default=1e-4)
    train.add_argument("--init-std", type=float, default=0.1)
    train.add_argument("--seed", type=int, default=0, help="training seed (splits, initializations, batches, dropout)")
    train.add_argument("--log-every", type=int, default=10, help="record the cost terms every this many steps")
    train.add_argument("--out", required=True, help="output ensemble (.npz)")
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(handler=_train)

    classify = commands.add_parser("classify", help="MBL confidence of every eigenstate of sample stores")
    classify.add_argument("samples", nargs="+", help="sample stores of the ensemble's N")
    classify.add_argument("--ensemble", required=True, help="ensemble written by 'mblnn train'")
    classify.add_argument("--threshold", type=float, default=0.9, help="category threshold of Appendix C (default 0.9)")
    classify.add_argument("--variant", default="main", help="name of the ensemble's cost variant in the tables (default main)")
    classify.add_argument("--out", required=True, help="output classification store (a directory, *.zarr)")
    classify.add_argument("--quiet", action="store_true")
    classify.set_defaults(handler=_classify)

    dream = commands.add_parser("dream", help="gradient descent on transition-region inputs towards a class (Sec. V D)")
    dream.add_argument("samples", nargs="+", help="sample stores of the ensemble's N (TR ones give the starting spectra)")
    dream.add_argument("--ensemble", required=True, help="ensemble written by 'mblnn train'")
    dream.add_argument("--target", required=True, choices=("eth", "mbl"))
    dream.add_argument("--networks", type=int, default=40, help="first members of the ensemble that dream (default 40)")
    dream.add_argument("--steps", type=int, default=200_000, help="gradient steps (paper: 2e5)")
    dream.add_argument("--step-size", type=float, default=1e-4, help="gradient step size (paper: 1e-4)")
    dream.add_argument("--window", type=_floats, default=(0.4, 0.6), help="confidence window of the starting spectra")
    dream.add_argument("--max-start", type=int, default=20, help="starting spectra (seeded choice among candidates)")
    dream.add_argument("--seed", type=int, default=0)
    dream.add_argument("--out", required=True, help="output (.npz)")
    dream.add_argument("--quiet", action="store_true")
    dream.set_defaults(handler=_dream)

    table = commands.add_parser("table", help="phase-diagram tables from classification stores (writes .csv and .parquet)")
    table.add_argument("kind", choices=TABLE_KINDS)
    table.add_argument("classifications", nargs="*",
                       help="classification stores written by 'mblnn classify' (dreams: the .npz of 'mblnn dream'; "
                            "confusion: the per-network tables of 'mblnn confusion')")
    table.add_argument("--eps-bins", type=int, default=10, help="energy-density bins (phase-diagram)")
    table.add_argument("--threshold", type=float, default=0.9, help="category threshold of Appendix C")
    table.add_argument("--thresholds", type=_floats, default=(0.6, 0.7, 0.8, 0.9, 0.95), help="h_c scan thresholds")
    table.add_argument("--fractions", type=_floats, default=(0.1, 0.25, 0.5, 0.75, 0.9), help="h_c scan state fractions")
    table.add_argument("--per-realization", help="critical-field: also write the per-realization table here")
    table.add_argument("--replicas", type=int, default=200, help="critical-field: bootstrap replicas over realizations")
    table.add_argument("--seed", type=int, default=0, help="critical-field: bootstrap seed")
    table.add_argument("--summary", help="consistency: also write the averages over the transition region here")
    table.add_argument("--critical", help="summary: the critical-field table (.csv)")
    table.add_argument("--transition", help="summary: the transition-region table (.csv)")
    table.add_argument("--consistency", help="summary: the consistency-summary table (.csv)")
    table.add_argument("--fraction", type=float, default=0.5, help="summary: state fraction of the headline h_c (default 0.5)")
    table.add_argument("--h-eth", type=float, help="consistency --summary: the ETH training field (TR lies above)")
    table.add_argument("--h-mbl", type=float, help="consistency --summary: the MBL training field (TR lies below)")
    table.add_argument("--realization", type=int, default=0, help="single-realization: the realization (default 0)")
    table.add_argument("--window", type=int, default=512, help="single-realization: consecutive eigenstates per window")
    table.add_argument("--middle-states", type=int, default=100, help="single-realization: states of the fine structure")
    table.add_argument("--fine-structure", help="single-realization: also write the fine-structure table here")
    table.add_argument("--levels", help="levels-vs-network, summary: the level statistics table (.csv)")
    table.add_argument("--phase", help="levels-vs-network: the phase-diagram table (.csv)")
    table.add_argument("--eps-min", type=float, default=0.0)
    table.add_argument("--eps-max", type=float, default=1.0)
    table.add_argument("--out", required=True, help="output table (.csv; a .parquet is written beside it)")
    table.add_argument("--quiet", action="store_true")
    table.set_defaults(handler=_table)

    confusion = commands.add_parser("confusion", help="learning by confusion on the spectra of one N (writes .csv and .parquet)")
    confusion.add_argument("samples", nargs="+", help="sample stores of one N, every hbar")
    _add_input_options(confusion)
    confusion.add_argument("--eps", type=_floats, default=(0.5,), help="energy-density bin centres, e.g. 0.3,0.5")
    confusion.add_argument("--eps-width", type=float, default=0.1, help="bin width: states with |eps - centre| <= width/2")
    confusion.add_argument("--max-per-sample", type=int, help="states per sample and bin (seeded choice)")
    confusion.add_argument("--repeats", type=int, default=3, help="networks per trial point (default 3)")
    confusion.add_argument("--n-hidden", type=int, default=64)
    confusion.add_argument("--steps", type=int, default=1000)
    confusion.add_argument("--batch", type=int, default=100)
    confusion.add_argument("--mu", type=float, default=0.0, help="weight decay of the first-layer weights")
    confusion.add_argument("--learning-rate", type=float, default=1e-3)
    confusion.add_argument("--seed", type=int, default=0)
    confusion.add_argument("--out", required=True, help="per-network table (.csv; a .parquet is written beside it)")
    confusion.add_argument("--quiet", action="store_true")
    confusion.set_defaults(handler=_confusion)

    sizes = commands.add_parser("finite-size", help="energy-resolved transition: r and network curves, crossings, "
                                                    "scaling collapse (writes .csv and .parquet)")
    sizes.add_argument("samples", nargs="+", help="sample stores of every N and hbar")
    sizes.add_argument("--classified", nargs="*", default=[], help="classification stores, one per N (half-chain main ensemble)")
    sizes.add_argument("--confusion", nargs="*", default=[], help="per-network tables of 'mblnn confusion' (.csv)")
    sizes.add_argument("--eps", type=_floats, default=(0.5,), help="energy-density bin centres")
    sizes.add_argument("--eps-width", type=float, default=0.1, help="bin width: states with |eps - centre| <= width/2")
    sizes.add_argument("--level", type=float, default=0.5, help="network confidence level of the transition line")
    sizes.add_argument("--fit-range", type=_floats, required=True, help="hbar window of the scaling collapse, e.g. 1,6")
    sizes.add_argument("--degree", type=int, default=3, help="polynomial degree of the scaling function")
    sizes.add_argument("--network-range", type=_floats, default=(0.02, 0.98),
                       help="network confidences (disorder means) that enter the collapse (default 0.02,0.98)")
    sizes.add_argument("--replicas", type=int, default=200, help="bootstrap replicas")
    sizes.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    sizes.add_argument("--out", required=True, help="mobility-edge table (.csv)")
    sizes.add_argument("--crossings", required=True, help="transition-point table (.csv)")
    sizes.add_argument("--scaling", required=True, help="scaling-collapse table (.csv)")
    sizes.add_argument("--quiet", action="store_true")
    sizes.set_defaults(handler=_finite_size)

    plot = commands.add_parser("plot", help="draw a table (writes .png and .pdf)")
    plot.add_argument("kind", choices=PLOT_KINDS)
    plot.add_argument("table", help="the table (.csv) of the same kind")
    plot.add_argument("--crossings", help="mobility-edge: the transition-point table to draw over it")
    plot.add_argument("--out", required=True, help="output figure (.png; a .pdf is written beside it)")
    plot.add_argument("--quiet", action="store_true")
    plot.set_defaults(handler=_plot)
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
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except BaseException:
        _abort_mpi_job_on_failure()
        raise


def _run(args: argparse.Namespace) -> int:
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
        return 2
    except RuntimeError as error:  # solver failures (mblnn.solve.mpi.SolverError)
        if type(error).__name__ != "SolverError":
            raise
        print(f"mblnn {args.command}: solver error: {error}", file=sys.stderr)
        _abort_mpi_job_on_failure()
        return 3


if __name__ == "__main__":
    sys.exit(main())
