"""Every campaign as its users start it: the command lines of the campaign files' headers, the README, docs/ and the
Snakefile, run as written from the repository root (as dry-runs), plan the campaign of mblnn.config.load_config, and
the same jobs from any other working directory. Catches another campaign's keys leaking into a campaign (Snakemake's
`configfile:` merged the default campaign under every --configfile, from the root only) and documented commands that
do not start."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from mblnn.config import DEFAULT_CAMPAIGN, campaign_files, load_config
from planning import BIN, REPO, plan_requests, planned_jobs, user_environment

CAMPAIGN_FILES = sorted(path.relative_to(REPO).as_posix() for path in (REPO / "config").rglob("*.yaml"))
#: where users read commands besides the campaign files' headers: the guides, the Snakefile's header
DOCUMENTS = ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")), "Snakefile"]
#: documented commands that plan nothing: they need a finished run, or are examples with placeholders
NOT_A_PLAN = re.compile(r"--report|--unlock|/path/to|\bFILE\b|\bCONFIG\b|\.\.\.|…")
COMMAND = re.compile(r"^(?:snakemake|workflow/scripts/plan-requests)(?:\s|$)")


def _command_of(text: str) -> str | None:
    """The command of a documented line (a trailing `# comment` or a remark after two spaces dropped), if it plans."""
    text = re.split(r"\s+#\s|\s{2,}", text.strip())[0].strip()
    return text if COMMAND.match(text) and not NOT_A_PLAN.search(text) else None


def header_lines(path: str) -> list[str]:
    """The leading comment block of a file (a campaign file's, the Snakefile's), without the ``#``."""
    lines = []
    for line in (REPO / path).read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#"))
    return lines


def document_lines(path: str) -> list[str]:
    """The lines of a guide's ```sh blocks and its inline `code` spans."""
    text = (REPO / path).read_text()
    blocks = [re.sub(r"\\\n\s*", " ", block) for block in re.findall(r"```sh\n(.*?)```", text, re.S)]  # join continued lines
    lines = [line for block in blocks for line in block.splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def documented() -> dict[str, list[str]]:
    """Every documented command line that plans a campaign, with where it is written."""
    where: dict[str, list[str]] = {}
    sources = [(path, header_lines(path)) for path in [*CAMPAIGN_FILES, "Snakefile"]]
    sources += [(path, document_lines(path)) for path in DOCUMENTS if path != "Snakefile"]
    for path, lines in sources:
        for command in filter(None, map(_command_of, lines)):
            where.setdefault(command, [])
            if path not in where[command]:
                where[command].append(path)
    return where


COMMANDS = documented()


def configfiles_of(tokens: list[str]) -> list[str]:
    """The campaign files a command names (``--configfile`` / ``--configfiles`` take every argument up to the next
    option)."""
    files, taking = [], False
    for token in tokens:
        if token in ("--configfile", "--configfiles"):
            taking = True
        elif token.startswith("-"):
            taking = False
        elif taking:
            files.append(token)
    return files


@pytest.fixture(scope="module")
def user_env(tmp_path_factory):
    """The environment of a user who followed the README, `make install-slurm-profile` included (into a private
    XDG_CONFIG_HOME: nothing of this machine's own profiles is read)."""
    config_home = tmp_path_factory.mktemp("xdg")
    env = user_environment(XDG_CONFIG_HOME=str(config_home))
    done = subprocess.run(["make", "-s", "install-slurm-profile"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and (config_home / "snakemake/slurm/config.yaml").exists(), done.stdout + done.stderr
    return env


def dry_run(tokens: list[str], cwd: Path, env: dict) -> dict[str, int]:
    """Jobs per rule of a snakemake command line run in ``cwd`` as a dry-run of the whole campaign (``-n`` added where
    missing, ``--forceall`` so that results a checkout already holds do not thin the plan)."""
    extra = [flag for flag in ("-n", "--forceall") if flag not in tokens and not (flag == "-n" and "--dry-run" in tokens)]
    done = subprocess.run([str(BIN / "snakemake"), *tokens[1:], *extra, "--quiet", "rules"],
                          cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{shlex.join(tokens)} (in {cwd}) failed:\n{done.stderr[-4000:]}"
    return planned_jobs(done.stdout + done.stderr)


def test_every_campaign_file_has_a_command_that_starts_it():
    """Each campaign file is named by a documented command (config/config.yaml: the commands naming none)."""
    named = {path for command in COMMANDS for path in configfiles_of(shlex.split(command))}
    default = [command for command in COMMANDS if command.startswith("snakemake") and not configfiles_of(shlex.split(command))]
    assert default, "no documented command runs the default campaign"
    assert set(CAMPAIGN_FILES) - {"config/config.yaml"} <= named, set(CAMPAIGN_FILES) - named
    for command, places in COMMANDS.items():
        for path in configfiles_of(shlex.split(command)):
            assert (REPO / path).is_file(), f"{command} ({places}): no file {path}"


#: jobs per rule of the campaign of some campaign files, planned from the repository root by a documented command
PLANNED_FROM_ROOT: dict[tuple[str, ...], dict[str, int]] = {}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS), ids=str)
def test_documented_command_plans_from_the_root_the_campaign_it_plans_elsewhere(command, user_env):
    """As written, from the repository root, each documented command starts, and plans exactly the jobs that the same
    campaign files plan from a temporary working directory (so no key of another campaign takes part). The documented
    plan-requests commands are run as written too (they plan in a temporary directory) and compared with the plan of a
    snakemake command line from the root."""
    tokens = shlex.split(command)
    files = tuple(configfiles_of(tokens))
    if load_config(*(REPO / path for path in files))["transfer"]:
        assert_transfer_plans_only_after_its_source(tokens, files, user_env)
        return
    elsewhere = {rule: r["jobs"] for rule, r in plan_requests(*files)["rules"].items()}  # plan-requests, as written
    if tokens[0] == "snakemake":
        PLANNED_FROM_ROOT[files] = dry_run(tokens, REPO, user_env)
    elif files not in PLANNED_FROM_ROOT:
        PLANNED_FROM_ROOT[files] = dry_run(["snakemake", *(["--configfile", *files] if files else [])], REPO, user_env)
    assert PLANNED_FROM_ROOT[files] == elsewhere, f"{command} ({', '.join(COMMANDS[command])})"
    assert elsewhere.get("all") == 1 and elsewhere.get("campaign_record") == 1


def option_value(tokens: list[str], *names: str) -> str | None:
    for i, token in enumerate(tokens[:-1]):
        if token in names:
            return tokens[i + 1]
    return None


def assert_transfer_plans_only_after_its_source(tokens: list[str], files: tuple[str, ...], env: dict) -> None:
    """A campaign with `transfer` reads another campaign's ensembles: as written, from the root, it plans when they
    exist (relative to its working directory) and otherwise stops with Snakemake's message naming the missing one."""
    from campaign.paths import half_chain_cut, main_variant, source_ensemble

    config = load_config(*(REPO / path for path in files))
    workdir = REPO / (option_value(tokens, "--directory", "-d") or ".")
    sources = [source_ensemble(config, name, N, half_chain_cut(config, N, main_variant(config)))
               for name in config["transfer"] for N in config["sizes"]]
    done = subprocess.run([str(BIN / "snakemake"), *tokens[1:], "-n", "--quiet", "rules"], cwd=REPO, env=env,
                          capture_output=True, text=True)
    missing = [path for path in sources if not (workdir / path).exists()]
    if not missing:
        assert done.returncode == 0, done.stderr[-4000:]
        return
    assert done.returncode != 0 and "MissingInputException" in done.stdout + done.stderr, done.stderr[-4000:]
    assert missing[0] in done.stdout + done.stderr or Path(missing[0]).name in done.stdout + done.stderr


def test_a_campaign_file_is_the_same_campaign_alone_or_after_the_default_one():
    """No default campaign underneath: a campaign file resolves to its own keys and the schema's defaults, whichever
    working directory; the default campaign is used only when no file is named."""
    defaults = load_config(REPO / "config/config.yaml")
    assert load_config() == defaults and campaign_files([]) == [DEFAULT_CAMPAIGN]
    single = load_config(REPO / "config/single_realization_n16.yaml")
    assert single["realizations"] == 1 and single["cut_offsets_by_size"] == {}
    assert load_config(REPO / "config/paper.yaml")["cut_offsets_by_size"] == {}


def test_default_campaign_record_names_the_checkouts_file_and_stays_up_to_date(tmp_path):
    """With no --configfile, from another directory: the record reads the checkout's config/config.yaml (not a per-run
    cached copy, which would rerun the record every time) and a second run has nothing to do."""
    command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "1"]
    env = user_environment()
    done = subprocess.run([*command, "results/campaign.yaml"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    record = (tmp_path / "results/campaign.yaml").read_text()
    assert f"#   {REPO / 'config/config.yaml'}  (sha256 " in record
    assert load_config(tmp_path / "results/campaign.yaml") == load_config()
    again = subprocess.run([*command, "-n", "results/campaign.yaml"], capture_output=True, text=True, env=env)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout
