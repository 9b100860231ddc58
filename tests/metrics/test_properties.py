"""Properties every metric must have, input handling, and the vectorised code against plain loops."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tita_studio.errors import InputError
from tita_studio.metrics import (
    METRICS,
    edge_map,
    entropy,
    fmi,
    mef_ssim,
    mutual_information,
    qabf,
    score,
)
from tita_studio.metrics.information import mutual_information_pair

SYMMETRIC = ["MI", "CE", "FMI", "Qabf", "Nabf", "VIF", "SSIM", "MEF-SSIM", "Qcb", "Qcv", "CC", "SCD",
             "PSNR", "RMSE"]


def smooth(size: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(128, 60, size), (0, 0), 2)
    blocks = np.kron(rng.integers(0, 2, (size[0] // 16 + 1, size[1] // 16 + 1)), np.ones((16, 16)))
    return np.clip(noise + 60 * blocks[:size[0], :size[1]] - 30, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def trio() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = smooth((64, 80), 1), smooth((64, 80), 2)
    return a, b, ((a.astype(np.float64) + b) / 2).astype(np.uint8)


def test_mi_with_itself_is_twice_the_entropy(trio) -> None:
    a = trio[0].astype(np.float64)
    assert mutual_information_pair(a, a) == pytest.approx(entropy(a), rel=1e-12)
    assert mutual_information([a, a], a) == pytest.approx(2 * entropy(a), rel=1e-12)
    values = score([trio[0], trio[0]], trio[0], ["MI", "EN"])
    assert values["MI"] == pytest.approx(2 * values["EN"], rel=1e-12)


def test_qabf_of_a_copy_is_at_its_maximum(trio) -> None:
    a = trio[0].astype(np.float64)
    best = 0.9994 / (1 + math.exp(-15 * 0.5)) * 0.9879 / (1 + math.exp(-22 * 0.2))
    assert qabf([a, a], a) == pytest.approx(best, abs=1e-3)
    assert qabf([a, a], a) > qabf([a, trio[1].astype(np.float64)], trio[2].astype(np.float64))


def test_constant_image_has_no_entropy_or_contrast() -> None:
    flat = np.full((64, 64), 77, np.uint8)
    values = score([flat, flat], flat, ["EN", "SD", "SF", "AG"])
    assert values == {"EN": 0.0, "SD": 0.0, "SF": 0.0, "AG": 0.0}


@pytest.mark.parametrize("convention", ["standard", "vifb"])
def test_symmetric_in_the_sources(trio, convention: str) -> None:
    a, b, f = trio
    ab = score([a, b], f, SYMMETRIC, convention)
    ba = score([b, a], f, SYMMETRIC, convention)
    for name in SYMMETRIC:
        assert ab[name] == pytest.approx(ba[name], rel=1e-9, abs=1e-12), name


def test_every_metric_is_finite_and_in_range(trio) -> None:
    a, b, f = trio
    values = score([a, b], f, list(METRICS))
    assert all(math.isfinite(v) for v in values.values()), values
    for name in ("Qabf", "Nabf", "SSIM", "MEF-SSIM", "Qcb", "FMI"):
        assert 0 <= values[name] <= 1, (name, values[name])
    assert 0 <= values["EN"] <= 8


def test_scales_of_uint8_uint16_and_float_agree(trio) -> None:
    a, b, f = trio
    names = ["EN", "SD", "MI", "Qabf", "SSIM", "VIF", "FMI"]
    ref = score([a, b], f, names)
    as16 = score([a.astype(np.uint16) * 257, b.astype(np.uint16) * 257], f.astype(np.uint16) * 257, names)
    asfloat = score([a / 255.0, b / 255.0], (f / 255.0).astype(np.float32), names)
    for name in names:
        assert as16[name] == pytest.approx(ref[name], rel=1e-9), name
        assert asfloat[name] == pytest.approx(ref[name], rel=1e-5), name


def test_rgb_is_scored_on_luma_in_standard_and_per_channel_in_vifb(trio) -> None:
    a, b, f = trio
    rgb = np.dstack([f, f, f])
    assert score([a, b], rgb, ["EN", "Qabf"]) == score([a, b], f, ["EN", "Qabf"])
    assert score([a, b], rgb, ["SD"], "vifb")["SD"] == pytest.approx(score([a, b], f, ["SD"])["SD"])


@pytest.mark.parametrize(("sources", "fused", "message"), [
    ([np.zeros((64, 64), np.uint8)], np.zeros((64, 64), np.uint8), "at least 2 source"),
    ([np.zeros((64, 64), np.uint8)] * 2, np.zeros((64, 65), np.uint8), "same size"),
    ([np.zeros((64, 64, 4), np.uint8)] * 2, np.zeros((64, 64), np.uint8), "alpha"),
    ([np.zeros(64, np.uint8)] * 2, np.zeros((64, 64), np.uint8), "shape"),
    ([np.zeros((64, 64), np.int32)] * 2, np.zeros((64, 64), np.uint8), "dtype"),
    ([np.zeros((64, 64), bool)] * 2, np.zeros((64, 64), np.uint8), "dtype"),
    ([np.zeros((64, 64))] * 2, np.full((64, 64), 2.0), r"\[0, 1\]"),
    ([np.zeros((64, 64))] * 2, np.full((64, 64), np.nan), "NaN"),
    ([np.zeros((20, 20), np.uint8)] * 2, np.zeros((20, 20), np.uint8), "at least 48"),
    (np.zeros((2, 64, 64), np.uint8), np.zeros((64, 64), np.uint8), "list"),
])
def test_bad_inputs_give_clear_errors(sources, fused, message: str) -> None:
    with pytest.raises(InputError, match=message):
        score(sources, fused)


def test_bad_names_give_clear_errors(trio) -> None:
    a, b, f = trio
    with pytest.raises(InputError, match="unknown metric 'XYZ'"):
        score([a, b], f, ["EN", "XYZ"])
    with pytest.raises(InputError, match="unknown metric convention"):
        score([a, b], f, convention="matlab")
    with pytest.raises(InputError, match="exactly 2"):
        score([a, b, f], f, ["SCD"])


def test_default_sets(trio) -> None:
    a, b, f = trio
    assert "MEF-SSIM" not in score([a, b], f)
    three = score([a, b, f], f)
    assert "MEF-SSIM" in three and "SCD" not in three
    assert list(score([a, b], f, "en, qabf")) == ["EN", "Qabf"]


def test_one_megapixel_pair_is_scored_on_all_metrics() -> None:
    a, b = smooth((1000, 1000), 3), smooth((1000, 1000), 4)
    f = np.maximum(a, b)
    values = score([a, b], f, list(METRICS))
    assert set(values) == set(METRICS)
    assert all(math.isfinite(v) for v in values.values())


# --- the vectorised FMI and MEF-SSIM against direct translations of the reference loops -------------

def _fmi_window(a: np.ndarray, f: np.ndarray) -> float:
    if np.array_equal(a, f):
        return 1.0
    pdfs = []
    for sub in (a, f):
        sub = np.ones((3, 3)) if sub.max() == sub.min() else (sub - sub.min()) / (sub.max() - sub.min())
        v = sub.ravel(order="F")
        pdfs.append(v / v.sum())
    ap, fp = pdfs
    ac, fc = np.cumsum(ap), np.cumsum(fp)
    at, ft = ap - ap.mean(), fp - fp.mean()
    c = 0.0 if (at * ft).sum() == 0 else (at * ft).sum() / math.sqrt((at * at).sum() * (ft * ft).sum())
    i = np.arange(1, 10)
    asd = math.sqrt((i * i * ap).sum() - (i * ap).sum() ** 2)
    fsd = math.sqrt((i * i * fp).sum() - (i * fp).sum() ** 2)
    bound = (lambda x, y: min(x, y)) if c >= 0 else (lambda x, y: max(x + y - 1, 0.0))
    cov = sum(bound(fc[p], ac[q]) - fc[p] * ac[q] for p in range(9) for q in range(9))
    w = 0.0 if (c == 0 or asd == 0 or fsd == 0) else c / (cov / (fsd * asd))

    def cdf(p: int, q: int) -> float:
        return 0.0 if p < 0 or q < 0 else bound(fc[p], ac[q])

    hj = 0.0
    for p in range(9):
        for q in range(9):
            mass = cdf(p, q) - cdf(p - 1, q) - cdf(p, q - 1) + cdf(p - 1, q - 1)
            j = w * mass + (1 - w) * fp[p] * ap[q]
            if j != 0:
                hj += -j * math.log2(abs(j))
    ha = -sum(x * math.log2(x) for x in ap if x)
    hf = -sum(x * math.log2(x) for x in fp if x)
    mi = ha + hf - hj
    return 0.0 if mi == 0 else 2 * mi / (ha + hf)


def test_fmi_matches_the_window_loop(trio) -> None:
    a, b, f = (x[:24, :30].astype(np.float64) for x in trio)
    ea, eb, ef = edge_map(a).astype(float), edge_map(b).astype(float), edge_map(f).astype(float)
    total = []
    for p in range(1, 23):
        for q in range(1, 29):
            win = np.s_[p - 1:p + 2, q - 1:q + 2]
            total.append((_fmi_window(ea[win], ef[win]) + _fmi_window(eb[win], ef[win])) / 2)
    assert fmi([a, b], f) == pytest.approx(np.mean(total), rel=1e-12)


def _mef_single_loop(seq: np.ndarray, f: np.ndarray) -> float:
    win = cv2.getGaussianKernel(11, 1.5)
    win = win @ win.T
    h, w, n = seq.shape
    eps = np.finfo(float).eps
    q = []
    for i in range(5, h - 5):
        for j in range(5, w - 5):
            patches = seq[i - 5:i + 6, j - 5:j + 6, :].reshape(-1, n, order="F")
            mu = patches.mean(axis=0)
            ed = np.linalg.norm(patches - mu, axis=0) + 0.001
            total = patches.sum(axis=1)
            r = (np.linalg.norm(total - total.mean()) + eps) / (np.linalg.norm(patches - mu, axis=0).sum() + eps)
            r = min(max(r, eps), 1 - eps) if r > 1 or r < 0 else r
            p = min(math.tan(math.pi / 2 * r), 10)
            wts = (ed / 11) ** p + eps
            wts /= wts.sum()
            rb = ((patches - mu) / ed * wts).sum(axis=1)
            if np.linalg.norm(rb) > 0:
                rb = rb / np.linalg.norm(rb) * ed.max()
            fv = f[i - 5:i + 6, j - 5:j + 6].ravel(order="F")
            wv = win.ravel(order="F")
            m1, m2 = (wv * rb).sum(), (wv * fv).sum()
            s1 = (wv * (rb - m1) ** 2).sum()
            s2 = (wv * (fv - m2) ** 2).sum()
            s12 = (wv * (rb - m1) * (fv - m2)).sum()
            c = (0.03 * 255) ** 2
            q.append((2 * s12 + c) / (s1 + s2 + c))
    return float(np.mean(q))


def test_mef_ssim_matches_the_patch_loop() -> None:
    base = smooth((48, 48), 5).astype(np.float64)
    seq = [np.clip(base * g, 0, 255).round() for g in (0.5, 1.0, 2.0)]
    fused = np.clip(base * 1.2, 0, 255).round()
    scores = []
    s, f = np.dstack(seq), fused
    for level in range(3):
        if level:
            pad = np.pad(s, ((0, 1), (0, 1), (0, 0)), mode="symmetric")
            s = ((pad[:-1, :-1] + pad[1:, :-1] + pad[:-1, 1:] + pad[1:, 1:]) / 4)[::2, ::2]
            pf = np.pad(f, ((0, 1), (0, 1)), mode="symmetric")
            f = ((pf[:-1, :-1] + pf[1:, :-1] + pf[:-1, 1:] + pf[1:, 1:]) / 4)[::2, ::2]
        scores.append(_mef_single_loop(s, f))
    weights = np.array([0.0448, 0.2856, 0.3001])
    expected = float(np.prod(np.array(scores) ** (weights / weights.sum())))
    assert mef_ssim(seq, fused) == pytest.approx(expected, rel=1e-7)
