"""Stray-field data set through the store, the CNN's ONNX export, and refusals of bad maps."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hil.app.cli import main  # noqa: E402
from hil.errors import InputDataError  # noqa: E402
from hil.store import Store  # noqa: E402
from hil.models.stray_cnn import CNNConfig, StrayFieldCNN, load_dataset, predict  # noqa: E402
from hil.models.stray_onnx import StrayFieldSession, export_onnx  # noqa: E402
from hil.sim.stray.shapes import ShapeSpec, ellipse_amplitude, sample_field, write_dataset  # noqa: E402

SMALL = CNNConfig(channels=(4, 6, 8), depth=3, width=6, head=8)


def test_shapes_and_their_field_round_trip_through_the_store(tmp_path):
    spec = ShapeSpec(pixels=16)
    with Store(tmp_path / "shapes.h5") as store:
        run_id = write_dataset(store, spec, n=7, n_train=4, seed=3, chunk=3)
    train, val, params = load_dataset(tmp_path / "shapes.h5")
    assert params["run_id"] == run_id and params["pixels"] == 16 and params["n_train"] == 4
    assert train.b.shape == (4, 16, 16) and val.b.shape == (3, 16, 16)
    assert 0 <= train.amplitude.min() and train.amplitude.max() <= 1 and train.amplitude.max() > 0.5
    # rebuild sample 5 (the second validation sample) from its stored parameters alone
    with Store(tmp_path / "shapes.h5", "r") as store:
        rec = store.run(run_id).record(1)  # samples 3, 4, 5
    j = list(rec["index"]).index(5)
    theta, phi = rec["theta"][j], rec["phi"][j]
    amp = ellipse_amplitude(spec, tuple(rec["semi_axes"][j]), rec["angle"][j], tuple(rec["centre"][j]))
    direction = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    b = sample_field(amp[None] * direction[:, None, None], spec)
    np.testing.assert_allclose(val.b[1], b, atol=1e-6 * np.abs(b).max() + 1e-7)
    assert np.abs(b).max() > 0.05
    np.testing.assert_allclose(val.mz[1], amp.reshape(16, 4, 16, 4).mean(axis=(1, 3)) * np.cos(theta), atol=1e-6)


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    torch.manual_seed(0)
    model = StrayFieldCNN(SMALL).eval()
    with torch.no_grad():  # non-trivial weights: the default init leaves the outputs near 0.5 / 0
        for p in model.parameters():
            p.mul_(3.0)
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "stray.onnx", 32,
                       {"pixel_over_d": 0.5, "input": "b", "version": "test"})
    return model, path


def test_onnx_matches_torch_within_1e_5_for_any_batch(onnx_model):
    model, path = onnx_model
    session = StrayFieldSession(path, threads=1)
    assert session.pixels == 32 and session.pixel_over_d == 0.5
    rng = np.random.default_rng(0)
    for n in (1, 5):
        b = rng.normal(0, 1.0, size=(n, 32, 32)).astype(np.float32)
        out, ref = session.reconstruct(b), predict(model, b)
        assert out.shape == (n, 2, 32, 32)
        assert np.ptp(ref[:, 0]) > 0.05  # outputs that vary, so the parity means something
        assert np.abs(out - ref).max() < 1e-5


def test_wrong_size_or_nan_map_gets_a_clear_error(onnx_model):
    session = StrayFieldSession(onnx_model[1], threads=1)
    with pytest.raises(InputDataError, match="32 × 32"):
        session.reconstruct(np.zeros((30, 32), np.float32))
    bad = np.zeros((32, 32), np.float32)
    bad[4, 7] = np.nan
    with pytest.raises(InputDataError, match="NaN"):
        session.reconstruct(bad)


def test_cli_reconstruct_plots_and_refuses_bad_maps(onnx_model, tmp_path, capsys):
    path = onnx_model[1]
    rng = np.random.default_rng(1)
    np.save(tmp_path / "bz.npy", rng.normal(0, 1e-3, size=(32, 32)))
    np.save(tmp_path / "truth.npy", np.zeros((32, 32)))
    rc = main(["reconstruct", str(tmp_path / "bz.npy"), "--model", str(path), "--height", "20nm",
               "--thickness", "1nm", "--ms", "1MA/m", "--pixel", "10nm", "--truth", str(tmp_path / "truth.npy"),
               "--out", str(tmp_path / "rec.npy"), "--plot", str(tmp_path / "rec.png"), "--threads", "1"])
    assert rc == 0 and (tmp_path / "rec.png").stat().st_size > 1000
    assert np.load(tmp_path / "rec.npy").shape == (2, 32, 32)
    assert "MSE |m| vs truth" in capsys.readouterr().out
    bad = rng.normal(0, 1, size=(32, 32))
    bad[0, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "small.npy", np.zeros((16, 16)))
    for name, words in (("nan.npy", "NaN"), ("small.npy", "32 × 32")):
        rc = main(["reconstruct", str(tmp_path / name), "--model", str(path)])
        err = capsys.readouterr().err.strip()
        assert rc == 1 and words in err and len(err.splitlines()) == 1
    rc = main(["reconstruct", str(tmp_path / "bz.npy"), "--model", str(path), "--height", "20nm",
               "--thickness", "1nm", "--ms", "1MA/m", "--pixel", "20nm"])
    assert rc == 1 and "resample" in capsys.readouterr().err


def test_cli_trains_a_tiny_model_end_to_end(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    tiny = ["--channels", "4,6,8", "--width", "6", "--head", "8"]  # fast; the same code path as the real size
    rc = main(["train", "stray-field", "--data", str(tmp_path / "d.h5"), "--samples", "24", "--train", "16",
               "--epochs", "2", "--out", str(out), "--quiet", *tiny])
    assert rc == 0 and out.exists() and out.with_suffix(".pt").exists()
    text = capsys.readouterr().out
    assert "val MSE |m|" in text and "ONNX parity" in text
    # asking again for the same data set reuses it instead of drawing a new one
    from hil.app.cli_stray import ensure_dataset

    with Store(tmp_path / "d.h5", "r") as store:
        (first,) = store.run_ids()
    assert ensure_dataset(tmp_path / "d.h5", 24, 16, 0, quiet=True) == first
    assert ensure_dataset(tmp_path / "d.h5", 24, 12, 0, quiet=True) != first
