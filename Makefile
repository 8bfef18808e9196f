# mblnn — the two commands of the README:
#   make run    set up (once) and run the default local campaign (CONFIG=FILE... runs another campaign)
#   make test   set up (once, everything) and run the test suite
# `make setup` installs the Python stack (about a minute); `make setup-mpi` adds the MPI stack (PETSc/SLEPc built from
# source, about 16-20 minutes once), which only the solvers under MPI use: `make run` installs it when its campaign
# needs it (`mblnn check-config --stack`). Both are idempotent: nothing happens when .venv is up to date.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mblnn-installed
CORES ?= 2
CONFIG ?=
PYTEST_ARGS ?=

# PETSc/SLEPc from PyPI source distributions, built against Debian's Open MPI, MUMPS, ScaLAPACK and
# OpenBLAS (recipe verified in the project notes; 16-20 min on 2 cores the first time, then pip's
# wheel cache makes it seconds). The four versions must agree in major.minor.
PETSC_VERSION := 3.26.1
# mpi4py is built against the system's Open MPI; Cython builds petsc4py/slepc4py/mpi4py (setuptools, wheel and numpy
# come from requirements.lock)
MPI4PY_VERSION := 4.1.2
MPI_BUILD_TOOLS := cython==3.3.1
PIP_TOOLS_VERSION := 7.7.0
APT_PACKAGES := libopenblas-dev libopenmpi-dev openmpi-bin gfortran libmumps-dev libscalapack-openmpi-dev patchelf pkg-config \
  libelpa-dev
export MPICC := mpicc
export MPICXX := mpicxx
export MPIFORT := mpifort
export PETSC_CONFIGURE_OPTIONS := --with-blaslapack-lib=-lopenblas --with-mumps-include=/usr/include \
  --with-mumps-lib=[-ldmumps,-lmumps_common,-lpord] --with-scalapack-lib=-lscalapack-openmpi --with-metis=0 \
  --with-debugging=0 --with-fortran-bindings=0 --with-x=0 COPTFLAGS=-O2 CXXOPTFLAGS=-O2 FOPTFLAGS=-O2
MPI_STAMP := $(VENV)/.mblnn-mpi-$(PETSC_VERSION)
# Open MPI refuses root and more ranks than cores unless told; CI and this kind of machine run as root
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1

.PHONY: setup setup-mpi lock run test test-fast bench bench-full install-slurm-profile clean

setup: $(STAMP)

# The Python stack from the lock file: every package at the exact version and hash CI tested (requirements.lock,
# refreshed by `make lock`), then mblnn itself from this checkout, editable, adding nothing.
$(STAMP): pyproject.toml requirements.lock Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "[setup] the Python dependencies from requirements.lock (TensorFlow, Snakemake, zarr, ...) -- $$(date +%T)"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-resolve requirements.lock from pyproject.toml (newest versions its ranges allow; --upgrade-package NAME in
# LOCK_ARGS for one package only), then reinstall. Commit the lock with the change that needed it.
LOCK_ARGS ?= --upgrade
lock: | $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools==$(PIP_TOOLS_VERSION)
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	  --extra test --extra workflow --extra learning --extra analysis $(LOCK_ARGS) -o requirements.lock pyproject.toml
	$(MAKE) --no-print-directory setup

setup-mpi: $(MPI_STAMP)

# System libraries (Debian, as root; elsewhere they must already be there) and the MPI stack, into the venv of
# `make setup` (order-only: editing the Makefile or pyproject.toml reinstalls the Python stack, never rebuilds this).
$(MPI_STAMP): | $(STAMP)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages: $$missing (install them, e.g. with apt-get, as root)"; exit 1; fi; \
	fi
	$(BIN)/python -m pip install --quiet $(MPI_BUILD_TOOLS)
	@echo "[setup-mpi] PETSc $(PETSC_VERSION) from source (about 10 minutes on 2 cores the first time; pip caches the wheel) -- $$(date +%T)"
	$(BIN)/python -m pip install --quiet --no-build-isolation petsc==$(PETSC_VERSION)
	@echo "[setup-mpi] petsc4py -- $$(date +%T)"
	$(BIN)/python -m pip install --quiet --no-build-isolation petsc4py==$(PETSC_VERSION)
	@echo "[setup-mpi] SLEPc (about 2 minutes) -- $$(date +%T)"
	$(BIN)/python -m pip install --quiet --no-build-isolation slepc==$(PETSC_VERSION)
	@echo "[setup-mpi] slepc4py, mpi4py -- $$(date +%T)"
	$(BIN)/python -m pip install --quiet --no-build-isolation slepc4py==$(PETSC_VERSION)
	$(BIN)/python -m pip install --quiet --no-binary mpi4py mpi4py==$(MPI4PY_VERSION)
	@echo "[setup-mpi] MPI stack done -- $$(date +%T)"
	touch $(MPI_STAMP)

# A killed run's stale lock is removed first (never a live run's); damaged stores: `mblnn verify --remove-bad results/`.
run: setup
	@if [ "$$($(BIN)/mblnn check-config $(CONFIG) --stack)" = mpi ]; then \
	  echo "[setup] this campaign runs samples under MPI: the MPI stack first (make setup-mpi)"; $(MAKE) --no-print-directory setup-mpi; fi
	workflow/scripts/unlock-if-stale . $(BIN)/snakemake --profile profiles/local
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --profile profiles/local --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG))
	@echo "done: open results/report.html (summary and figures); tables in results/tables (CSV, Parquet), figures in results/figures (PNG, PDF)"

# The report test opens results/report.html in Debian's chromium, as a user would (skipped without it).
TEST_APT_PACKAGES := chromium

test: setup-mpi
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "[setup] $(TEST_APT_PACKAGES) for the report test -- $$(date +%T)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_APT_PACKAGES) >/dev/null) \
	      || echo "could not install $(TEST_APT_PACKAGES): the browser test will be skipped"; \
	  else echo "no chromium: the browser test of the report will be skipped"; fi; \
	fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The development loop: library tests only (no MPI launcher, no Snakemake runs, no Slurm cluster, nothing slow).
test-fast: setup-mpi
	$(BIN)/python -m pytest -q -m "not slow and not mpi and not workflow and not slurm" $(PYTEST_ARGS)

# One command for the benchmarks; each prints ratios against a baseline measured in the same run.
bench: setup-mpi
	$(BIN)/python bench/ed.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/shift_invert.py --sizes 16
	$(BIN)/python bench/train.py --quick
	$(BIN)/python bench/classify.py
	$(BIN)/python bench/dag.py

# The issue-sized runs (N = 16/18/20 shift-invert, full training benchmark): about 30 minutes.
bench-full: setup-mpi
	$(BIN)/python bench/ed.py --full
	$(BIN)/python bench/store.py --full
	$(BIN)/python bench/shift_invert.py --full
	$(BIN)/python bench/train.py
	$(BIN)/python bench/classify.py --full
	$(BIN)/python bench/dag.py

# Install profiles/slurm as the user's `slurm` profile (`snakemake --profile slurm`); an existing
# one is kept: the workflow's per-rule resources come from its rules and apply under any profile.
SLURM_PROFILE := $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/snakemake/slurm
install-slurm-profile:
	@if [ -e "$(SLURM_PROFILE)" ]; then \
	  echo "$(SLURM_PROFILE) exists: keeping it (compare it with profiles/slurm/config.yaml: arrays, retries)"; \
	else mkdir -p "$(dir $(SLURM_PROFILE))" && cp -r profiles/slurm "$(SLURM_PROFILE)" && echo "installed $(SLURM_PROFILE)"; fi

clean:
	rm -rf $(VENV) .snakemake .pytest_cache
