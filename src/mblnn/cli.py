"""Command line interface: ``mblnn <command> ...``; the workflow rules call these commands.

Commands
--------
``mblnn spectrum``  diagonalize one sample and write energies, ε, r, fields and per-cut entropies,
                    Schmidt gaps and entanglement spectra.
``mblnn levels``    reduce sample stores to a table of mean gap ratios per (N, h̄).
``mblnn inspect``   summarize a sample store or every store below a directory.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from .errors import InputError


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
    from .sample import SampleSpec, diagonalize_sample
    from .store import write_sample_store

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
    from .tables import level_statistics_table, write_table_csv

    table = level_statistics_table(args.samples, window=(args.eps_min, args.eps_max))
    write_table_csv(table, args.out)
    if not args.quiet:
        print(table.to_string(index=False))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from .store import describe

    for path in args.paths:
        print(describe(path))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mblnn", description=__doc__.split("\n\n")[0])
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
    levels.add_argument("--out", required=True, help="output table (.csv)")
    levels.add_argument("--quiet", action="store_true")
    levels.set_defaults(handler=_levels)

    inspect = commands.add_parser("inspect", help="summarize a sample store or a campaign directory")
    inspect.add_argument("paths", nargs="+", help="sample stores (*.zarr) or directories holding them")
    inspect.set_defaults(handler=_inspect)
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
    except BaseException:
        _abort_mpi_job_on_failure()
        raise


def _run(args: argparse.Namespace) -> int:
    try:
        return args.handler(args)
    except InputError as error:
        print(f"mblnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # solver failures (mblnn.solvers.mpi.SolverError)
        if type(error).__name__ != "SolverError":
            raise
        print(f"mblnn {args.command}: solver error: {error}", file=sys.stderr)
        _abort_mpi_job_on_failure()
        return 3


if __name__ == "__main__":
    sys.exit(main())
