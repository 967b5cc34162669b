"""The self-checking exercises and the teacher's tools.

- every reference, and every solution in the notebooks, passes its check;
- every mistake the catalogue knows is named by its own message, and the mistakes the
  book promises to catch (flipped sign, missing 1/2, log-variance as variance, mean
  instead of sum over latent dimensions, missing detach, normal instead of uniform
  interpolation weights, wrong reduction over the batch) are caught in hand-written
  wrong implementations;
- the student versions of the book's notebooks hold no solution code and run up to the
  first exercise (the same code as the book's notebooks up to there, which the smoke build
  executed), where they stop with "not yet implemented";
- the grader scores the book's solved notebook 100%, an unanswered one 0%, a planted
  mistake in between (naming it); the grader's containment is tested in test_grading.py;
- the solutions appendix is up to date.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from appendix import APPENDIX, chapter_solutions, render_appendix
from appendix import main as appendix_main

from tutorial_lib.cli import main
from tutorial_lib.exercises import (
    EXERCISES,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    REPORT_ENV,
    Exercise,
    ExerciseFailed,
    ExerciseNotImplemented,
    check,
    for_chapter,
    run_check,
)
from tutorial_lib.exercises.notebooks import (
    BEGIN,
    END,
    exercise_ids,
    solution_regions,
    student_version,
    write_student_versions,
)
from tutorial_lib.runner import run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("ch*.ipynb"))
MISTAKES = [(ex.id, i) for ex in EXERCISES.values() for i in range(len(ex.mistakes))]
BUILT = os.environ.get("TUTORIAL_BUILT_BOOK")  # the smoke build's HTML (scripts/test.sh)


# ------------------------------------------------------------------- the checker
@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_reference_passes_its_check(exercise_id: str) -> None:
    ex = EXERCISES[exercise_id]
    result = run_check(ex, ex.reference)
    assert result.status == PASSED, result.message
    assert result.message.startswith("correct")


@pytest.mark.parametrize("exercise_id, index", MISTAKES,
                         ids=[f"{e}-{i}" for e, i in MISTAKES])
def test_each_catalogued_mistake_is_named(exercise_id: str, index: int) -> None:
    ex = EXERCISES[exercise_id]
    mistake = ex.mistakes[index]
    result = run_check(ex, mistake.wrong)
    assert result.status == FAILED
    assert result.message == mistake.message


def test_mistake_messages_are_distinct_within_an_exercise() -> None:
    for ex in EXERCISES.values():
        messages = [m.message for m in ex.mistakes]
        assert len(messages) == len(set(messages)), ex.id


@pytest.mark.parametrize("chapter", range(1, 13))
def test_each_chapter_module_holds_its_chapters_exercises(chapter: int) -> None:
    """A teacher finds chapter 4's exercises in catalogue/ch04.py, and only there."""
    module = importlib.import_module(f"tutorial_lib.exercises.catalogue.ch{chapter:02d}")
    defined = [v for v in vars(module).values() if isinstance(v, Exercise)]
    assert defined, module.__name__
    assert [ex.id for ex in defined] == [ex.id for ex in for_chapter(chapter)]
    assert all(EXERCISES[ex.id] is ex for ex in defined)


def test_for_chapter_wants_a_chapter_number() -> None:
    assert for_chapter(99) == []  # a chapter the book does not have
    with pytest.raises(TypeError, match="expected an int"):
        for_chapter("ch04")


def _kl(mu, log_var, half=0.5, var=None, reduce="sum"):
    var = log_var.exp() if var is None else var
    per_dim = half * (mu ** 2 + var - log_var - 1)
    return per_dim.sum(-1) if reduce == "sum" else per_dim.mean(-1)


def _log_var_as_var_kl(mu, log_var):
    return 0.5 * (mu ** 2 + log_var - torch.log(log_var) - 1).sum(-1)


def _gp(eps_fn):
    def penalty(critic, real, fake):
        eps = eps_fn(real)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return penalty


def _d_step_without_detach(discriminator, generator, real, z):
    fake = generator(z)  # not detached
    real_logits, fake_logits = discriminator(real), discriminator(fake)
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def _d_loss_summed(real_logits, fake_logits):
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits),
                                               reduction="sum")
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits),
                                                 reduction="sum"))


# (exercise, a wrong implementation written by hand, words its message must contain)
PROMISED = {
    "flipped sign, KL": ("ch04.kl_to_standard_normal", lambda mu, lv: -_kl(mu, lv),
                         "sign is flipped"),
    "flipped sign, D loss": ("ch06.discriminator_loss",
                             lambda r, f: -_d_loss_summed(r, f) / len(r), "sign is flipped"),
    "missing 1/2, KL": ("ch04.kl_to_standard_normal", lambda mu, lv: _kl(mu, lv, half=1.0),
                        "factor 1/2 is missing"),
    "missing 1/2, log-density": (
        "ch01.log_normal_diag",
        lambda x, m, lv: -((x - m) ** 2 / lv.exp() + 0.5 * lv + 0.5 * math.log(2 * math.pi)
                           ).sum(-1),
        "factor 1/2 is missing in front of the term -(x - mean)^2"),
    "log-var as var, KL": ("ch04.kl_to_standard_normal", _log_var_as_var_kl,
                           "log-variance is used as the variance"),
    "log-var as var, log-density": (
        "ch01.log_normal_diag",
        lambda x, m, lv: -0.5 * ((x - m) ** 2 / lv + lv + math.log(2 * math.pi)).sum(-1),
        "log-variance is used as the variance"),
    "log-var as std, sample": ("ch04.reparameterize",
                               lambda mu, lv: mu + lv * torch.randn_like(mu),
                               "log-variance is used as the standard deviation"),
    "variance as std, sample": ("ch04.reparameterize",
                                lambda mu, lv: mu + lv.exp() * torch.randn_like(mu),
                                "a factor 1/2 is missing"),
    "mean over latent dims, KL": ("ch04.kl_to_standard_normal",
                                  lambda mu, lv: _kl(mu, lv, reduce="mean"),
                                  "mean over latent dimensions where the sum belongs"),
    "mean over pixels, ELBO": (
        "ch04.bernoulli_elbo",
        lambda x, lg, mu, lv: -F.binary_cross_entropy_with_logits(lg, x, reduction="none")
        .flatten(1).mean(1) - _kl(mu, lv),
        "mean over pixels where the sum belongs"),
    "missing detach": ("ch07.discriminator_step_loss", _d_step_without_detach,
                       "detach the generated samples"),
    "normal GP weight": ("ch08.gradient_penalty", _gp(lambda r: torch.randn(len(r), 1, 1, 1)),
                         "normal distribution"),
    "per-pixel GP weight": ("ch08.gradient_penalty", _gp(torch.rand_like),
                            "one interpolation weight per pixel"),
    "batch mean of a per-example KL": ("ch04.kl_to_standard_normal",
                                       lambda mu, lv: _kl(mu, lv).mean(),
                                       "averaged over the batch"),
    "batch sum of a per-example KL": ("ch04.kl_to_standard_normal",
                                      lambda mu, lv: _kl(mu, lv).sum(),
                                      "summed over the batch"),
    "batch sum of a loss": ("ch06.discriminator_loss", _d_loss_summed,
                            "summed over the batch where the mean belongs"),
    "unstable log-mean-exp": ("ch05.iwae_from_log_weights",
                              lambda lw: torch.log(torch.exp(lw).sum(0) / len(lw)),
                              "exp underflows"),
    "biased MMD": ("ch09.mmd2_unbiased",
                   lambda a, b, c: a.mean() + b.mean() - 2 * c.mean(), "biased estimator"),
    "elementwise sqrt, Frechet": (
        "ch09.frechet_distance",
        lambda m1, s1, m2, s2: ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2)
        - 2 * np.trace(np.sqrt(np.abs(s1 * s2))), "elementwise square root"),
}


@pytest.mark.parametrize("name", list(PROMISED))
def test_promised_mistakes_get_their_own_message(name: str) -> None:
    exercise_id, wrong, words = PROMISED[name]
    result = run_check(EXERCISES[exercise_id], wrong)
    assert result.status == FAILED
    assert words in result.message, result.message


def test_hand_written_correct_variants_pass() -> None:
    """Other correct ways to write a solution pass too (torch.distributions, sqrtm)."""
    def kl_td(mu_q, lv_q, mu_p, lv_p):
        d = torch.distributions
        q = d.Independent(d.Normal(mu_q, (0.5 * lv_q).exp()), 1)
        p = d.Independent(d.Normal(mu_p, (0.5 * lv_p).exp()), 1)
        return d.kl_divergence(q, p)

    def frechet(m1, s1, m2, s2):
        root = scipy.linalg.sqrtm(s1 @ s2).real
        return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))

    def rsample(mu, lv):
        return torch.distributions.Normal(mu, (0.5 * lv).exp()).rsample()

    from sklearn.metrics import roc_auc_score

    for exercise_id, fn in (("ch02.kl_diag_gaussians", kl_td), ("ch09.frechet_distance", frechet),
                            ("ch04.reparameterize", rsample),
                            ("ch12.roc_auc", lambda s, t: roc_auc_score(t.numpy(), s.numpy())),
                            ("ch01.log_normal_diag", lambda x, m, lv: torch.distributions.Normal(
                                m, (0.5 * lv).exp()).log_prob(x).sum(-1))):
        result = run_check(EXERCISES[exercise_id], fn)
        assert result.passed, (exercise_id, result.message)


def test_unfinished_broken_and_odd_functions_are_reported() -> None:
    ex = EXERCISES["ch04.kl_to_standard_normal"]

    def stub(mu, log_var):
        raise NotImplementedError

    assert run_check(ex, stub).status == NOT_IMPLEMENTED
    broken = run_check(ex, lambda mu, log_var: mu.no_such_method())
    assert broken.status == "error" and "AttributeError" in broken.message
    assert "return" in run_check(ex, lambda mu, log_var: None).message
    unexplained = run_check(ex, lambda mu, log_var: _kl(mu, log_var) + mu[:, 0] ** 3)
    assert unexplained.status == FAILED and "expected" in unexplained.message


def test_check_raises_for_students_and_records_for_the_grader(tmp_path, monkeypatch,
                                                              capsys) -> None:
    monkeypatch.delenv(REPORT_ENV, raising=False)
    assert check("ch11.feature_distance", EXERCISES["ch11.feature_distance"].reference).passed
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="sign is flipped"):
        check("ch04.kl_to_standard_normal", lambda mu, lv: -_kl(mu, lv))

    def stub(mu, log_var):
        raise NotImplementedError

    with pytest.raises(ExerciseNotImplemented, match="not yet implemented"):
        check("ch04.kl_to_standard_normal", stub)
    with pytest.raises(KeyError, match="unknown exercise"):
        check("ch04.no_such_exercise", stub)
    report = tmp_path / "report.jsonl"
    monkeypatch.setenv(REPORT_ENV, str(report))
    assert check("ch04.kl_to_standard_normal", stub).status == NOT_IMPLEMENTED  # no raise
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert lines == [{"exercise": "ch04.kl_to_standard_normal", "status": NOT_IMPLEMENTED,
                      "message": lines[0]["message"]}]


# ------------------------------------------------------ the notebooks' exercises
def _solution_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Code exercises"))
    return [c.source for c in nb.cells[start:] if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_solutions_pass_their_checks(path: Path, capsys) -> None:
    namespace: dict = {}
    for source in _solution_cells(path):
        exec(compile(source, str(path), "exec"), namespace)  # raises on a failed check
    nb = nbformat.read(path, as_version=4)
    chapter = int(path.stem[2:4])
    assert exercise_ids(nb) == [ex.id for ex in EXERCISES.values()
                                if ex.id.startswith(f"ch{chapter:02d}.")]
    assert capsys.readouterr().out.count("✅") == len(exercise_ids(nb)) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_version_has_no_solution_code(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    student = student_version(nb, path.name)
    regions = solution_regions(nb, path.name)
    assert regions, f"{path.name} has no marked solutions"
    for region in regions:
        cell = student.cells[region.cell].source
        assert BEGIN not in cell and END not in cell
        assert "raise NotImplementedError" in cell
        for line in region.text.splitlines():
            if line.strip() and not line.strip().startswith("#"):
                assert line.strip() not in cell, (path.name, line)
        assert "hide-input" not in student.cells[region.cell].metadata.get("tags", [])
    assert exercise_ids(student) == exercise_ids(nb), "the checks must stay"
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    text = "".join(c.source for c in student.cells)
    assert "solutions are hidden" not in text and "This copy has no solutions" in text


def test_student_versions_refuse_to_overwrite_the_solutions(tmp_path) -> None:
    with pytest.raises(ValueError, match="another folder"):
        write_student_versions(ROOT / "notebooks", ROOT / "notebooks")
    with pytest.raises(ValueError, match="never closed"):
        bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"{BEGIN}\nx = 1")])
        student_version(bad)


def _exercises_start(nb: nbformat.NotebookNode) -> int:
    """The index of the "## Code exercises" cell: from there on, the cells run on their own."""
    return next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Code exercises"))


def _executed(path: Path) -> nbformat.NotebookNode:
    """The notebook as the smoke build executed it (under TUTORIAL_BUILT_BOOK), else as the
    notebook runner executes it here at the smoke budget."""
    if BUILT:
        built = Path(BUILT).parent / "jupyter_execute" / "notebooks" / path.name
        assert built.is_file(), f"the build did not execute {path.name} into {built}"
        return nbformat.read(built, as_version=4)
    run = run_notebook(path, timeout=900,
                       env={"TUTORIAL_BUDGET": "smoke", "TUTORIAL_STATIC_WIDGETS": "1"})
    assert run.ok, f"{path.name}: {run.error}"
    return run.notebook


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("students")
    written = main(["exercises", "student", str(ROOT / "notebooks"), str(out)])
    assert written == 0
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_version_stops_at_its_first_exercise(path: Path, student_folder: Path,
                                                     monkeypatch, capsys) -> None:
    """Up to its first exercise the student version is the book's notebook, cell for cell
    (which the build ran: see the next test); from the code exercises on, run on their own,
    it stops at the first exercise with "not yet implemented"."""
    monkeypatch.delenv(REPORT_ENV, raising=False)
    book = nbformat.read(path, as_version=4)
    student = nbformat.read(student_folder / path.name, as_version=4)
    first = solution_regions(book)[0].cell
    # the same cells in the same order, the same code (the markdown differs only in its
    # note on hidden solutions, which is true of the book and not of a student copy)
    assert [c.cell_type for c in student.cells[:first]] == \
        [c.cell_type for c in book.cells[:first]]
    assert [c.source for c in student.cells[:first] if c.cell_type == "code"] == \
        [c.source for c in book.cells[:first] if c.cell_type == "code"]
    namespace: dict = {}
    reached = None
    with pytest.raises(ExerciseNotImplemented, match="not yet implemented") as stopped:
        for index in range(_exercises_start(student), len(student.cells)):
            if student.cells[index].cell_type == "code":
                reached = index
                exec(compile(student.cells[index].source, str(path), "exec"), namespace)
    assert reached == first, f"{path.name}: stopped at cell {reached}, not at exercise {first}"
    assert exercise_ids(student)[0] in str(stopped.value)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_book_notebook_runs_without_error_up_to_its_first_exercise(path: Path) -> None:
    """Reads the smoke build's executed copy (scripts/test.sh); executes only without one."""
    executed = _executed(path)
    first = solution_regions(nbformat.read(path, as_version=4))[0].cell
    code = [c for c in executed.cells[:first] if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), f"{path.name}: not executed"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == [], f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"


# ------------------------------------------------------------------- the grader
@pytest.mark.slow
def test_grader_scores_the_book_notebook_solved_unanswered_and_with_a_mistake(tmp_path) -> None:
    """ch04's code exercises (the cells that run on their own, so that the grader's three
    runs cost seconds, not three runs of the chapter): as the book has them, as a student
    gets them, and with a planted mistake."""
    nb = nbformat.read(ROOT / "notebooks" / "ch04_vae.ipynb", as_version=4)
    nb.cells = nb.cells[_exercises_start(nb):]
    source = tmp_path / "ch04_vae.ipynb"
    nbformat.write(nb, source)
    (tmp_path / "class").mkdir()
    nbformat.write(student_version(nb, source.name), tmp_path / "class" / "carol_ch04_vae.ipynb")
    right = "return log_px - kl_to_standard_normal(mu, log_var)"
    cell = next(c for c in nb.cells if right in c.source)
    cell.source = cell.source.replace(right, right.replace(" - ", " + "))  # planted
    nbformat.write(nb, tmp_path / "class" / "bob_ch04_vae.ipynb")
    json_out, csv_out = tmp_path / "grades.json", tmp_path / "grades.csv"
    code = main(["exercises", "grade", str(source), str(tmp_path / "class"), "--jobs", "2",
                 "--chapter", "4",
                 "--json", str(json_out), "--csv", str(csv_out), "--timeout", "400"])
    assert code == 0
    report = {Path(g["notebook"]).name: g for g in json.loads(json_out.read_text())}
    assert report["ch04_vae.ipynb"]["score"] == 1.0
    assert report["carol_ch04_vae.ipynb"]["score"] == 0.0
    assert {e["status"] for e in report["carol_ch04_vae.ipynb"]["exercises"]} == {
        NOT_IMPLEMENTED}
    bob, total = report["bob_ch04_vae.ipynb"], len(for_chapter(4))  # one mistake planted
    assert 0 < bob["score"] < 1 and bob["passed"] == total - 1 and bob["total"] == total
    planted = next(e for e in bob["exercises"] if e["exercise"] == "ch04.bernoulli_elbo")
    assert planted["status"] == FAILED and "the KL term is added" in planted["message"]
    rows = list(csv.DictReader(csv_out.open()))
    assert {r["exercise"] for r in rows} >= {"ch04.kl_to_standard_normal", "TOTAL"}
    assert any(r["notebook"].endswith("bob_ch04_vae.ipynb") and r["exercise"] == "TOTAL"
               and r["points"] == f"{total - 1}/{total}" for r in rows)


# ------------------------------------------------------------------- the appendix
def test_solutions_appendix_is_up_to_date(capsys) -> None:
    assert (ROOT / APPENDIX).read_text() == render_appendix(ROOT), (
        "run `python tools/appendix.py` and commit the result")
    assert appendix_main(["--check"]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_appendix_holds_every_chapter_solution_and_code_solution() -> None:
    text = (ROOT / APPENDIX).read_text()
    for chapter in sorted((ROOT / "book").glob("ch*.md")):
        solutions = chapter_solutions(chapter.read_text())
        assert len(solutions) >= 3, chapter.name
        for label, _, _ in solutions:
            assert f"{{numref}}`{label}`" in text
    for ex in EXERCISES.values():
        assert f"`{ex.id}`" in text


def test_cli_lists_every_exercise(capsys) -> None:
    assert main(["exercises", "list"]) == 0
    out = capsys.readouterr().out
    assert all(ex_id in out for ex_id in EXERCISES)
