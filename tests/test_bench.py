"""bench/: every benchmark prints its table, then one JSON line with the keys the book reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tutorial_lib.bench import head_to_head as bench_compare
from tutorial_lib.cli import main


@pytest.mark.slow
def test_bench_compare_prints_a_table_then_json_with_the_required_keys(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:

    small = bench_compare.CompareSettings(seconds=0.5, n_samples=100, nll_samples=3)
    monkeypatch.setattr(bench_compare, "settings_for", lambda name: small)
    assert main(["bench", "compare", "--budget", "smoke", "--seeds", "1",
                 "--models", "vae,gan"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("bench compare")
    result = json.loads(lines[-1])
    assert set(result["models"]) == {"vae", "gan"}
    for row in result["models"].values():
        for key in ("fid", "fid_real", "kid", "precision", "recall", "class_tv", "seconds"):
            assert isinstance(row[key], float)
        assert row["fid_real"] == result["real"]["fid"]
    assert result["models"]["vae"]["nll"] > 0 and result["models"]["gan"]["nll"] is None
    assert 0 <= result["anomaly_auc"] <= 1
    with pytest.raises(ValueError, match="unknown model"):
        bench_compare.run_bench(["flow"], seeds=1, budget="smoke")


@pytest.mark.slow
def test_bench_mle_prints_a_table_then_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "mle", "--data", "ring8", "--budget", "smoke", "--seeds", "2",
                 "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("bench mle")
    result = json.loads(lines[-1])
    assert result["data"] == "ring8" and result["budget"] == "smoke" and result["seeds"] == 2
    rows = {r["k"]: r for r in result["results"]}
    assert set(rows) == {1, 8}
    # the right number of components fits far better than one Gaussian
    assert rows[8]["kl_mean"] < 0.5 < 5 < rows[1]["kl_mean"]
    # log-likelihood + KL = -H(p): the same for every K (same held-out points)
    sums = [r["test_loglik_mean"] + r["kl_mean"] for r in result["results"]]
    assert max(sums) - min(sums) < 1e-3
    assert abs(sums[0] + result["entropy"]) < 0.1



def test_bench_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "mle", "--seeds", "0"]) == 2
    assert "--seeds must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "mle", "--data", "mnist5k"])  # not a toy mixture: argparse refuses



@pytest.mark.slow
def test_bench_vae_prints_a_table_then_json_with_the_required_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "vae", "--data", "digits", "--budget", "smoke", "--seeds", "1",
                 "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("bench vae")
    result = json.loads(lines[-1])
    for key in ("data", "budget", "device", "seconds", "test_elbo", "test_nll", "nll_samples"):
        assert key in result, key
    assert result["data"] == "digits" and result["nll_samples"] == 10
    # positive nats per image; importance sampling tightens the bound: NLL <= -ELBO
    for model in (result["baseline"], result["reference"]):
        assert 0 < model["test_nll"] <= model["test_elbo"] + 0.5
    assert result["test_nll"] == result["reference"]["test_nll"]



@pytest.mark.slow
def test_bench_gan_prints_a_table_then_json_with_the_required_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "gan", "--budget", "smoke", "--seeds", "2", "--variants",
                 "nonsaturating,r1", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("bench gan")
    result = json.loads(lines[-1])
    assert set(result["variants"]) == {"nonsaturating", "r1"}
    assert result["recommended"] in ("nonsaturating", "r1", "minimax", "wgan-clip",
                                     "wgan-gp", "hinge-sn")
    for name, row in result["variants"].items():
        assert any(line.startswith(name) for line in lines)
        for data, n_modes in (("ring8", 8), ("grid25", 25)):
            r = row[data]
            assert {"modes_mean", "modes_min", "hq_mean"} <= set(r)
            assert len(r["modes"]) == 2 and len(r["hq"]) == 2
            assert 0 <= r["modes_min"] <= r["modes_mean"] <= n_modes
            assert r["modes_mean"] == pytest.approx(sum(r["modes"]) / 2)
            assert 0 <= r["hq_mean"] <= 100
    assert main(["bench", "gan", "--workers", "0", "--budget", "smoke"]) == 2
    assert "workers must be at least 1" in capsys.readouterr().err
    assert main(["bench", "gan", "--variants", "lsgan", "--budget", "smoke"]) == 2
    assert "unknown variant 'lsgan'" in capsys.readouterr().err



@pytest.mark.slow
def test_bench_diffusion_prints_chapter_8s_table_then_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "diffusion", "--budget", "smoke", "--seeds", "2", "--device",
                 "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("bench diffusion")
    result = json.loads(lines[-1])
    assert result["command"].startswith("python -m tutorial_lib bench diffusion")
    for data, n_modes in (("ring8", 8), ("grid25", 25)):
        r = result["toy"][data]
        assert len(r["modes"]) == 2 and 0 <= r["modes_min"] <= r["modes_median"] <= n_modes
        assert set(result["ablation"][data]) == {"ema-posterior", "ema-beta", "raw-posterior",
                                                 "raw-beta"}
        # the main row is the averaged network with the recipe's variances
        assert result["ablation"][data]["ema-posterior"]["high_quality"] == pytest.approx(
            r["hq_median"])
        steps = result["by_steps"][data]
        assert "50" in steps and all(0 <= v["high_quality"] <= 100 for v in steps.values())
        assert all(v["seconds_per_1000"] > 0 for v in steps.values())
    assert main(["bench", "diffusion", "--workers", "0", "--budget", "smoke"]) == 2
    assert "seeds and workers must be at least 1" in capsys.readouterr().err


def test_run_jobs_keeps_the_order_and_gives_workers_one_thread_each() -> None:
    from tutorial_lib.bench.jobs import run_jobs

    jobs = [(2.567,), (7.25,), (0.04,)]
    assert run_jobs(round, jobs, workers=1) == [3, 7, 0]
    # in worker processes the last argument is the thread count, 1: round(x, 1)
    assert run_jobs(round, jobs, workers=2) == [2.6, 7.2, 0.0]


def test_spreads_over_seeds_are_sample_standard_deviations() -> None:
    from statistics import mean, stdev

    from tutorial_lib.bench.jobs import mean_and_sd

    values = [0.841, 0.796, 0.859]
    m, sd = mean_and_sd(values)
    assert m == pytest.approx(mean(values)) and sd == pytest.approx(stdev(values))  # n - 1
    assert mean_and_sd([2.5]) == (2.5, None)  # one seed: no spread
    with pytest.raises(ValueError, match="at least one value"):
        mean_and_sd([])


def test_stored_population_spreads_convert_exactly_to_sample_spreads() -> None:
    from statistics import stdev

    from tutorial_lib.bench.jobs import sample_sd
    from tutorial_lib.results import load_result

    stored = load_result("bench_compare")  # written with ddof = 0, before std_ddof existed
    assert "std_ddof" not in stored and stored["seeds"] == 3
    per_seed = stored["anomaly_auc_per_seed"]  # rounded to 4 decimals
    assert sample_sd(stored, stored["anomaly_auc_std"]) == pytest.approx(
        stdev(per_seed), abs=1e-4)
    for row in stored["models"].values():
        assert sample_sd(stored, row["fid_std"]) == pytest.approx(
            stdev(row["fid_per_seed"]), abs=1e-3)
    assert sample_sd({"seeds": 3, "std_ddof": 1}, 0.5) == 0.5  # already a sample sd
    with pytest.raises(ValueError, match="at least 2 seeds"):
        sample_sd({"seeds": 1}, 0.0)


def test_bench_compare_real_line_is_chapter_9s() -> None:
    from tutorial_lib.metrics import digit_scores, load_classifier

    data = bench_compare._data("smoke")
    n = min(100, len(data.x_test))
    # chapter 9: the first n held-out digits, in order, seed 0
    chapter9 = digit_scores(data.x_test[:n], data.x_train, load_classifier(), seed=0)
    assert bench_compare._real_line("smoke", 100) == chapter9.as_dict()


def test_bench_tables_print_no_spread_for_one_seed() -> None:
    from tutorial_lib.bench import mle

    row = {"k": 1, "test_loglik_mean": -3.0, "test_loglik_std": None, "kl_mean": 0.5,
           "kl_min": 0.5, "kl_max": 0.5, "seconds": 1.0}
    text = mle.table({"data": "ring8", "true_modes": 8, "budget": "smoke", "device": "cpu",
                      "seeds": 1, "steps": 20, "entropy": 2.5, "results": [row]})
    assert "±" not in text.splitlines()[-1] and "-3.000" in text


def _fake_anomaly_runs(seeds: int) -> list[dict]:
    """Runs with known AUCs: digit c, seed s has AUC (c + 1) / 20 + s / 100 for every score."""
    from tutorial_lib.bench.head_to_head import ANOMALY_SCORES

    return [{"anomaly_class": c, "seed": s, "seconds": 1.0, "epochs": 3, "diverged": None,
             "auc": {name: (c + 1) / 20 + s / 100 for name in ANOMALY_SCORES}}
            for c in range(10) for s in range(seeds)]


def test_the_anomaly_block_averages_over_seeds_then_over_digits() -> None:
    from statistics import mean, stdev

    from tutorial_lib.applications.anomaly import PUBLISHED_MNIST_AUC
    from tutorial_lib.bench.head_to_head import ANOMALY_SCORES, anomaly_summary

    block = anomaly_summary(_fake_anomaly_runs(3), seeds=3)
    for name in ANOMALY_SCORES:
        per_class = block["per_class_auc"][name]
        assert len(per_class) == 10
        assert per_class[4] == pytest.approx(mean([0.25, 0.26, 0.27]))
        assert block["per_class_auc_std"][name][4] == pytest.approx(stdev([0.25, 0.26, 0.27]))
        assert block["per_class_auc_per_seed"][name][4] == [0.25, 0.26, 0.27]
        # each seed ran all ten tasks: the spread is that of the three ten-task means
        seed_means = [mean((c + 1) / 20 + s / 100 for c in range(10)) for s in range(3)]
        assert block["mean_auc"][name] == pytest.approx(mean(seed_means))
        assert block["mean_auc_std"][name] == pytest.approx(stdev(seed_means))
    # the published rows are the thesis's table, whose means the issue quotes
    assert block["published_mean_auc"] == {
        name: pytest.approx(mean(v)) for name, v in PUBLISHED_MNIST_AUC.items()}
    assert sorted(round(v, 3) for v in block["published_mean_auc"].values()) == [0.718, 0.855]


def test_merging_an_anomaly_block_keeps_the_stored_models(tmp_path) -> None:
    from tutorial_lib.bench.head_to_head import anomaly_summary, merge_anomaly, table
    from tutorial_lib.results import load_result

    stored = load_result("bench_compare")
    path = tmp_path / "bench_compare.json"
    path.write_text(json.dumps(stored))
    block = anomaly_summary(_fake_anomaly_runs(2), seeds=2)
    result = {"anomaly": block, "anomaly_auc": block["per_class_auc"]["neg_elbo"][9],
              "anomaly_auc_per_seed": block["per_class_auc_per_seed"]["neg_elbo"][9],
              "anomaly_auc_std": 123.0, "anomaly_auc_complexity_corrected": 0.5,
              "command": "python -m tutorial_lib bench compare --anomaly-only",
              "budget": "book", "settings": {"anomaly_epochs": 30}, "device": "cpu",
              "workers": 2, "torch": "x"}
    merged = merge_anomaly(result, str(path))
    assert json.loads(path.read_text()) == merged
    assert merged["models"] == stored["models"] and merged["command"] == stored["command"]
    assert merged["anomaly_command"] == result["command"]
    assert merged["anomaly"]["per_class_auc"] == block["per_class_auc"]
    # a stored result prints, its anomaly block with the settings it was run with
    assert "30 epochs of VAE training per task" in table(merged)
    # the legacy spread follows the stored file's convention (ddof 0 when it names none)
    assert merged["anomaly_auc_std"] == pytest.approx(
        float(np.std([0.5, 0.51], ddof=stored.get("std_ddof", 0))))
    path.write_text(json.dumps({"bench": "gan"}))
    with pytest.raises(ValueError, match="not a stored bench compare result"):
        merge_anomaly(result, str(path))


def _model_row(values: dict[str, list[float]]) -> dict[str, object]:
    from tutorial_lib.results import mean_and_sd

    row: dict[str, object] = {"description": "a model", "failures": 0, "diverged": 0}
    for key, per_seed in values.items():
        row[key], row[f"{key}_std"] = mean_and_sd(per_seed)
        row[f"{key}_per_seed"] = per_seed
    return row


def test_merging_rows_of_models_keeps_the_stored_rows_and_their_convention(tmp_path) -> None:
    from tutorial_lib.bench.head_to_head import merge_models, table
    from tutorial_lib.results import STD_DDOF, load_result, sample_sd

    stored = load_result("bench_compare")
    path = tmp_path / "bench_compare.json"
    path.write_text(json.dumps(stored))
    fids = [50.0, 60.0, 80.0]
    result = {**{k: stored[k] for k in ("settings", "seeds", "real", "budget", "data")},
              "std_ddof": STD_DDOF, "command": "python -m tutorial_lib bench compare "
              "--models new --no-anomaly --merge-into x.json",
              "models": {"new": _model_row({"fid": fids, "kid": [1.0, 2.0, 3.0],
                                            "precision": [.5, .6, .7], "recall": [.5, .5, .5],
                                            "class_tv": [.1, .2, .3], "steps": [1, 2, 3],
                                            "seconds": [300.0, 300.0, 300.0]})}}
    result["models"]["new"]["nll"] = result["models"]["new"]["nll_std"] = None
    merged = merge_models(result, str(path))
    assert json.loads(path.read_text()) == merged
    assert {k: merged["models"][k] for k in stored["models"]} == stored["models"]
    assert {k: v for k, v in merged.items() if k != "models"} == {
        k: v for k, v in stored.items() if k != "models"}
    row = merged["models"]["new"]
    assert row["command"] == result["command"] and row["fid"] == pytest.approx(np.mean(fids))
    # stored in the file's convention, and read back as the sample sd of the three values
    assert row["fid_std"] == pytest.approx(np.std(fids, ddof=stored.get("std_ddof", 0)))
    assert sample_sd(merged, row["fid_std"]) == pytest.approx(np.std(fids, ddof=1))
    assert "new" in table(merged)
    # rows scored another way are refused, and the file is left as it was
    for key, value in (("seeds", 2), ("settings", {**stored["settings"], "n_samples": 10}),
                       ("real", {**stored["real"], "fid": stored["real"]["fid"] + 1})):
        with pytest.raises(ValueError, match=key.rstrip("s") if key != "real" else "real line"):
            merge_models({**result, key: value}, str(path))
    assert json.loads(path.read_text()) == merged
    # through the command, a refused run is kept beside the file, not lost
    from tutorial_lib.bench.head_to_head import _merge_or_keep

    refused = {**result, "seeds": 2}
    with pytest.raises(ValueError, match=r"kept in .*bench_compare\.json\.rejected\.json"):
        _merge_or_keep(merge_models, refused, str(path))
    assert json.loads((tmp_path / "bench_compare.json.rejected.json").read_text()) == refused
    assert json.loads(path.read_text()) == merged


def test_merging_some_reference_rows_keeps_the_others(tmp_path) -> None:
    from tutorial_lib.bench.head_to_head import merge_reference
    from tutorial_lib.results import load_result

    stored = load_result("bench_compare")
    path = tmp_path / "bench_compare.json"
    path.write_text(json.dumps(stored))
    meta = stored["reference_settings"]
    result = {**meta, "command": "python -m tutorial_lib bench compare --from-checkpoints "
              "--models new", "reference": {"new": {"fid": 1.0, "fid_per_seed": [1.0]}}}
    merged = merge_reference(result, str(path))
    assert {k: merged["reference"][k] for k in stored["reference"]} == stored["reference"]
    assert merged["reference"]["new"]["command"] == result["command"]
    assert merged["reference_command"] == stored["reference_command"]
    with pytest.raises(ValueError, match="settings"):
        merge_reference({**result, "settings": {}}, str(path))
    # a run that scores every stored model replaces the block and its settings
    every = {name: {"fid": 2.0} for name in merged["reference"]}
    again = merge_reference({**result, "reference": every, "command": "all"}, str(path))
    assert again["reference"] == every and again["reference_command"] == "all"


@pytest.mark.slow
def test_bench_compare_runs_the_anomaly_protocol_alone(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    small = bench_compare.CompareSettings(seconds=0.5, n_samples=100, nll_samples=3,
                                          anomaly_epochs=1)
    monkeypatch.setattr(bench_compare, "settings_for", lambda name: small)
    assert main(["bench", "compare", "--budget", "smoke", "--seeds", "1",
                 "--anomaly-only"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert "models" not in result and result["anomaly"]["classes"] == list(range(10))
    for name in bench_compare.ANOMALY_SCORES:
        aucs = result["anomaly"]["per_class_auc"][name]
        assert len(aucs) == 10 and all(0 <= a <= 1 for a in aucs)
    assert result["anomaly_auc"] == result["anomaly"]["per_class_auc"]["neg_elbo"][9]
    assert any("leave one digit out" in line for line in out)
    assert main(["bench", "compare", "--anomaly-only", "--models", "vae"]) == 2
    assert "drop --no-anomaly and --models" in capsys.readouterr().err
    assert main(["bench", "compare", "--merge-into", "x.json"]) == 2
    assert "use it with --anomaly-only" in capsys.readouterr().err
