"""The documents and the committed results: the report is what the records
give (`tuning/write_report.py --check`), every table regenerates from the
trial records, links resolve and every test a document names exists. No
test here reads a sentence: the report's numbers are rendered, not quoted."""

import os
import re
import shutil

import pytest
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import ROOT
from scripts import read_document
from scripts import run_script

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

DOCUMENTS = (
    "README.md",
    "docs/report.md",
    "docs/method.md",
    "results/README.md",
    "benchmarks/README.md",
)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_links_resolve(document):
    """Every relative link and image of a document names a file or folder
    of the repository."""
    text = read_document(document)
    folder = os.path.dirname(os.path.join(ROOT, document))
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = [
        target
        for target in targets
        if not re.match(r"[a-z]+:", target) and not target.startswith("#")
        if not os.path.exists(os.path.join(folder, target.split("#")[0]))
    ]
    assert not broken, f"{document} links to what does not exist: {broken}"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_test_a_document_names_exists(document):
    """A claim's test, named as `tests/DIRECTORY/FILE.py::test_name`, is a
    test function of that file: renaming or removing it breaks this test,
    not the claim's reference silently."""
    named = set(
        re.findall(
            r"tests/((?:\w+/)*test_\w+\.py)::(test_\w+)",
            read_document(document),
        )
    )
    missing = []
    for filename, name in sorted(named):
        path = os.path.join(ROOT, "tests", filename)
        source = read_document(path) if os.path.isfile(path) else ""
        if not re.search(rf"^def {name}\(", source, re.MULTILINE):
            missing.append(f"tests/{filename}::{name}")
    assert not missing, f"{document} names tests that do not exist: {missing}"


def test_the_report_is_what_the_records_give():
    """docs/report.md is its template filled from the committed records:
    a hand edit of the report, or a record changed without it, fails
    here (`python tuning/write_report.py` writes it again)."""
    result = run_script("tuning/write_report.py", ["--check"], timeout=600)
    assert result.returncode == 0, result.stderr


def test_the_report_stays_within_its_length():
    """The report is a paper of about twelve printed pages: at most 700
    lines. Every section of a later experiment has its full length before
    its runs land (one line per cell), so records do not move this."""
    lines = read_document("docs", "report.md").count("\n")
    assert lines <= 700, f"docs/report.md has {lines} lines, more than 700"


def test_the_check_names_the_first_changed_line():
    """One digit changed in the report: the check names that line."""
    rendered = read_document("docs", "report.md")
    lines = rendered.splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if "61.65" in line)
    lines[number] = lines[number].replace("61.65", "61.66", 1)
    difference = reporting.report.first_difference("".join(lines), rendered)
    assert difference.startswith(f"docs/report.md:{number + 1}: ")
    assert "61.66" in difference and "61.65" in difference
    assert reporting.report.first_difference(rendered, rendered) is None
    shorter = "".join(lines[:number])
    assert f":{number + 1}: " in reporting.report.first_difference(
        shorter, rendered
    )


def test_render_fills_every_placeholder_or_names_the_missing():
    template = "<!-- for writers: {{not_a_value}} -->\nK = {{ k }}, {{p}}\n"
    text = reporting.report.render(template, {"k": 4, "p": "0.01"})
    assert text == reporting.report.NOTICE + "K = 4, 0.01\n"
    with pytest.raises(KeyError, match="records do not give: p"):
        reporting.report.render(template, {"k": 4})


@pytest.mark.parametrize("name", sorted(reporting.report.LATER))
def test_a_later_experiment_says_it_is_running_until_its_records_land(
    name, tmp_path
):
    """Until its CSV lands a later section says it is running, no number."""
    filename, page, running = reporting.report.LATER[name]
    (tmp_path / "results").mkdir()
    text = reporting.report.later_section(tmp_path, name)
    assert text == running and "Running" in text
    # No number: only the names of the table and the file hold digits.
    assert not re.search(
        r"\d", text.replace("Table 1", "").replace(filename, "")
    )
    if name == "convergence":  # its table: tests/study/test_convergence.py
        return
    columns = "sequence_length,num_pairs,mixer,d_model,state_size"
    rows = ",learning_rate,best_epoch,test_accuracy,rates_tried\n"
    rows += "64,4,lstm,64,128,0.001,7,0.5,1"
    (tmp_path / "results" / filename).write_text(columns + rows + "\n")
    text = reporting.report.later_section(tmp_path, name)
    assert f"`results/{filename}`" in text
    assert "- T = 64, K = 4 (guessing among the 4 values" in text
    assert "LSTM 0.50 (d = 64)" in text
    assert "**Running**: from" in text and "1 to 1 of the 4 learning" in text


def load_copy(directory, tmp_path):
    """`tuning.load_search` of a copy of a committed search (reading a
    search writes its grid back), named as the original."""
    copy = tmp_path / directory.replace("/", "_")
    shutil.copytree(
        os.path.join(ROOT, directory),
        copy,
        ignore=shutil.ignore_patterns("*.weights.h5", "backup.npz"),
    )
    search = tuning.load_search(str(copy))
    search["directory"] = directory
    return search


def assert_same_file(written, committed):
    with open(written, newline="") as file:
        got = file.read()
    with open(os.path.join(ROOT, committed), newline="") as file:
        assert got == file.read(), f"{committed} is not what its records give"


def test_committed_tables_regenerate_from_the_records(tmp_path):
    """results/table1.csv (and table1.md, with the delta rule's row),
    lr_sensitivity.csv, ablation.csv, capacity.csv and clipping.csv are
    what the committed trial records give, byte for byte: a hand edit of a
    table, or a record changed without its table, fails here."""
    common = reporting.common
    table1 = load_copy("results/table1_search", tmp_path)
    # With the delta rule's row beside, as tuning/reproduce.sh reports it.
    beside = [load_copy("results/delta_search/table1", tmp_path)]
    reporting.table1.check_beside(table1["settings"], beside)
    written = tmp_path / "t"
    reporting.table1.write_table1(
        table1["runs"], written, table1["grid"], beside
    )
    for name in reporting.table1.TABLE1_FILENAMES:
        assert_same_file(written / name, f"results/{name}")
    reporting.sensitivity.write_sensitivity(
        table1["grid"], table1["runs"], written
    )
    assert_same_file(
        written / "lr_sensitivity.csv", "results/lr_sensitivity.csv"
    )

    ablation = load_copy("results/ablation_search", tmp_path)
    rows = reporting.ablation.ablation_rows(
        ablation["grid"],
        ablation["runs"],
        ablation["settings"]["num_pairs"],
        ablation["histories"],
    )
    common.write_csv(
        rows, written / "ablation.csv", reporting.ablation.ABLATION_COLUMNS
    )
    assert_same_file(written / "ablation.csv", "results/ablation.csv")

    # The capacity report's searches (tuning/capacity_report.py's default
    # --directories), those run so far: the delta rule's too.
    loaded = {search["directory"]: search for search in [table1, *beside]}
    searches = [
        loaded.get(directory) or load_copy(directory, tmp_path)
        for directory in reporting.capacity.CAPACITY_DIRECTORIES
        if os.path.exists(os.path.join(ROOT, directory))
    ]
    rows = reporting.capacity.capacity_rows(
        searches, ["fast_weights", "lstm"], 50
    )
    common.write_csv(
        rows, written / "capacity.csv", reporting.capacity.CAPACITY_COLUMNS
    )
    assert_same_file(written / "capacity.csv", "results/capacity.csv")

    clipping = [
        table1,
        load_copy("results/clipping_search/table1", tmp_path),
        ablation,
        load_copy("results/clipping_search/no_layer_norm", tmp_path),
    ]
    rows = reporting.clipping.clipping_rows(clipping)
    common.write_csv(
        rows, written / "clipping.csv", reporting.clipping.CLIPPING_COLUMNS
    )
    assert_same_file(written / "clipping.csv", "results/clipping.csv")
