"""The HTML report: figures embedded with their captions, the summary table, and what a browser shows."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mblnn.plot.report import figure_caption, write_report

REPO = Path(__file__).resolve().parents[1]
CAPTIONS = REPO / "workflow/report/figure.rst"


def figure(path: Path, colour: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], color=colour)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


@pytest.fixture
def report(tmp_path):
    figures = [figure(tmp_path / "phase_diagram.png", "red"), figure(tmp_path / "consistency.png", "blue")]
    summary = tmp_path / "summary.csv"
    pd.DataFrame({"N": [12], "N_A": [6], "variant": ["main"], "eta_min": [0.9959], "hbar_c": [1.9], "hbar_c_err": [0.06],
                  "r_midpoint": [1.75], "other": [1]}).to_csv(summary, index=False)
    return write_report(figures, tmp_path / "out/report.html", captions=CAPTIONS, summary=summary, title="N = 12")


def test_captions_come_from_the_snakemake_report_template():
    text = CAPTIONS.read_text()
    assert figure_caption(text, "phase_diagram").startswith("Disorder-averaged MBL confidence of the ensemble")
    assert "Fig. 9" in figure_caption(text, "consistency") and "{%" not in figure_caption(text, "consistency")


def test_report_embeds_figures_captions_and_the_summary(report, tmp_path):
    page = report.read_text()
    assert page.count('<img src="data:image/png;base64,') == 2 and "src=\"http" not in page and "<script" not in page
    assert page.index('id="phase_diagram"') < page.index('id="consistency"')
    assert "Disorder-averaged MBL confidence" in page and "Agreement between the networks" in page
    assert "<th>η min</th>" in page and "0.9959" in page and "<th>other</th>" not in page
    again = write_report([tmp_path / "phase_diagram.png", tmp_path / "consistency.png"], tmp_path / "again.html",
                         captions=CAPTIONS, summary=tmp_path / "summary.csv", title="N = 12")
    assert again.read_bytes() == report.read_bytes()  # no dates: reproducible
    assert "Failed networks kept" not in page


def test_report_flags_ensembles_kept_with_failed_networks(tmp_path):
    summary = tmp_path / "summary.csv"
    pd.DataFrame({"N": [12, 14, 14], "N_A": [6, 7, 6], "variant": ["main"] * 3, "eta_min": [0.9959, 0.4950, 1.0],
                  "hbar_c": [1.9, float("nan"), 2.0], "learning_rate": [1e-4, 3e-5, 1e-4], "steps": [3500, 11667, 3500],
                  "retrained_members": [1, 6, 0],
                  "failed_members": [0, 2, 0]}).to_csv(summary, index=False)
    page = write_report([figure(tmp_path / "phase_diagram.png", "red")], tmp_path / "report.html", summary=summary).read_text()
    assert "Failed networks kept</strong> (training.allow_failed_members): N = 14, N_A = 7, main: 2." in page
    assert "<th>networks retrained</th>" in page and "<th>networks failed</th>" in page
    # beside the paper: the half-chain rows under the paper's values, with the step and the retrained networks
    beside = page[page.index("<h2>Beside the paper</h2>"):]
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", beside, re.S)]
    assert cells[1:] == [["paper", "", "1", "2.8", "", "", "", ""], ["12", "main", "0.9959", "1.9", "0.0001", "3500", "1", "0"],
                     ["14", "main", "0.495", "–", "3e-05", "11667", "6", "2"]]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_report_renders_in_a_headless_browser(report, tmp_path):
    """As a user opens it: chromium loads the file, every image decodes (its onload records the width)."""
    common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom", report.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    widths = re.findall(r'data-rendered="(\d+)"', dom.stdout)
    assert widths == ["300", "300"], dom.stdout[:500]  # 3 in at 100 dpi, both figures decoded
    shot = tmp_path / "shot.png"
    done = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1000,1400", report.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]


def test_report_command(report, tmp_path):
    done = subprocess.run([str(Path(sys.executable).with_name("mblnn")), "report", str(tmp_path / "phase_diagram.png"),
                           "--captions", str(CAPTIONS), "--out", str(tmp_path / "r.html")], capture_output=True, text=True)
    assert done.returncode == 0 and "report with 1 figures" in done.stdout, done.stderr
