"""The window's logic without widgets: view state, read-out, overlays, settings file, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tita_studio.app import jobs
from tita_studio.app.config import FusionSettings, OverlaySpec
from tita_studio.app.export import export_image, export_overlays, report_text
from tita_studio.app.jobs import engine_problem, job_stages, read_sources
from tita_studio.app.overlays import compute_overlay, spec_for_name
from tita_studio.app.presenter import expand_paths
from tita_studio.app.readout import sample_text, to_display
from tita_studio.app.records import BASELINE
from tita_studio.app.settings_store import SettingsStore
from tita_studio.app.state import ViewState
from tita_studio.errors import ModelFileError
from tita_studio.model.maps import FusionMaps
from tita_studio.paths import RESOURCES_DIR
from tita_studio.pipeline.fuse import FuseOptions, fuse_sources
from tita_studio.pipeline.kinds import SourceKind, classify
from tita_studio.pipeline.map_render import MAP_NAMES


def fake_maps(h: int = 12, w: int = 16) -> FusionMaps:
    g = torch.Generator().manual_seed(0)
    contribution = torch.rand(1, 6, h, w, generator=g)
    return FusionMaps(torch.rand(1, 6, h, w, generator=g), contribution / contribution.sum(1, keepdim=True),
                      torch.rand(1, 8, 2, h, w, generator=g), torch.rand(1, 8, 2, h, w, generator=g))


def test_zoom_at_keeps_the_point_under_the_cursor(qapp):
    view = ViewState()
    view.set(50, 40, 1.0)
    view.zoom_at(70, 50, 20, 10, 2.0)  # scene (70, 50) is 20, 10 screen px from the centre
    assert view.zoom == 2.0
    assert (view.cx + 20 / view.zoom, view.cy + 10 / view.zoom) == pytest.approx((70, 50))
    view.pan(10, -4)
    assert (view.cx, view.cy) == pytest.approx((60 - 5, 45 + 2))
    view.fit(200, 100, 400, 400)
    assert view.fitted and view.zoom == pytest.approx(0.98 * 2) and (view.cx, view.cy) == (100, 50)
    view.one_to_one(2.0)
    assert view.zoom == 0.5 and not view.fitted


def test_zoom_is_clamped(qapp):
    view = ViewState()
    for _ in range(100):
        view.zoom_at(0, 0, 0, 0, 2.0)
    assert view.zoom == view.config.max_zoom


def test_readout_shows_16_bit_values_as_such():
    pixels = np.full((2, 2), 1000 / 65535, np.float32)
    assert sample_text(pixels, 0, 0, 16) == "1000"
    rgb = np.zeros((2, 2, 3), np.float32)
    rgb[1, 1] = (1.0, 0.5, 0.0)
    assert sample_text(rgb, 1, 1, 8) == "255,128,0"
    assert sample_text(rgb, 5, 5, 8) == "-"
    assert to_display(rgb).dtype == np.uint8


@pytest.mark.parametrize("name", MAP_NAMES)
def test_overlays_have_a_range_text_and_rgba(name):
    spec = spec_for_name(name, OverlaySpec(opacity=0.5, clip_percent=2.0))
    overlay = compute_overlay(fake_maps(), spec, untrained=True)
    assert overlay.rgba.shape == (12, 16, 4) and overlay.rgba.flags.c_contiguous
    assert (overlay.rgba[..., 3] == 128).all()
    assert overlay.explanation and "UNTRAINED" in overlay.map.title
    if name == "oaf":
        assert len(overlay.map.categories) == 6 and overlay.value_text(0, 0) in overlay.map.categories
    else:
        assert overlay.map.lo < overlay.map.hi


def test_ipa_block_and_mean_differ():
    maps = fake_maps()
    mean = compute_overlay(maps, OverlaySpec(kind="ipa", block=0))
    third = compute_overlay(maps, OverlaySpec(kind="ipa", block=3, stream="B"))
    np.testing.assert_allclose(mean.values, maps.cross_share[0, :, 0].mean(0).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(third.values, maps.cross_share[0, 2, 1].numpy())
    assert compute_overlay(maps, OverlaySpec(kind="none")) is None
    with pytest.raises(ValueError):
        spec_for_name("nope")


def test_settings_come_back_typed_from_a_new_store(qapp, tmp_path):
    path = tmp_path / "s.ini"
    SettingsStore(path).save(FusionSettings(method="gff", align="none", preview_side=256, precision="bfloat16"))
    back = SettingsStore(path).load()
    assert back == FusionSettings(method="gff", align="none", preview_side=256, precision="bfloat16")
    assert SettingsStore(tmp_path / "new.ini").load() == FusionSettings()


def test_folders_expand_and_sources_sort_in_fusion_order(pair):
    files = expand_paths([pair[0].parent])
    assert [f.name for f in files] == sorted(p.name for p in pair)
    loaded, errors = read_sources(list(reversed(files)))
    assert not errors
    assert [s.name for s in loaded] == ["irvis_visible.png", "irvis_infrared.png"]  # visible first


def test_export_image_maps_and_report(pair, tmp_path):
    loaded, _ = read_sources(pair)
    result = fuse_sources([s.source for s in loaded], FuseOptions(method="average"))
    out = export_image(tmp_path / "fused.tif", result, 16)
    assert out.exists()
    result.maps = fake_maps(*result.image.shape[:2])
    maps = export_overlays(tmp_path / "maps", result, OverlaySpec(), untrained=True)
    assert sorted(p.name for p in maps) == sorted(f"map_{n}.png" for n in MAP_NAMES)
    text = report_text(result, FusionSettings(), "none", {"average": {"MI": 1.5, "VIF": float("nan")}})
    assert "| average | 1.5000 | n/a |" in text and "irvis_visible.png" in text


def test_bad_file_is_reported_not_raised(tmp_path: Path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"nope")
    loaded, errors = read_sources([bad])
    assert loaded == [] and "x.png" in errors[0][0]


def test_tita_jobs_show_the_classical_preview_then_the_tita_preview_then_the_full_size():
    options = FuseOptions(method="tita", want_maps=True)
    stages = job_stages("tita", options, 192, 480)
    assert [name for name, _ in stages] == [BASELINE, "preview", "full"]
    quick, preview, full = (o for _, o in stages)
    assert (quick.method, quick.want_maps, quick.preview_max_side) == ("laplacian", False, 192)
    assert (preview.method, preview.preview_max_side) == ("tita", 192)
    assert full == options
    assert [n for n, _ in job_stages("tita", options, 512, 480)] == [BASELINE, "full"]  # smaller than a preview
    assert [n for n, _ in job_stages("tita", options, 0, 480)] == ["full"]  # previews off
    assert [n for n, _ in job_stages("average", FuseOptions(method="average"), 192, 480)] == ["full"]


def test_an_ir_visible_pair_is_never_a_bracket(pair, full_pair):
    for paths in (pair, full_pair):
        loaded = read_sources(paths)[0]
        sources = [s.source for s in loaded]
        means = sorted(float(s.pixels.mean()) for s in sources)
        assert means[1] / means[0] > 1.5  # brightness alone would have called it a bracket
        result = classify(sources)
        assert result.kind is SourceKind.IR_VISIBLE
        assert result.order == (0, 1) and sources[0].pixels.ndim == 3  # shown visible first
    bracket = [s.source for s in read_sources(sorted((RESOURCES_DIR / "demo").glob("bracket_*.jpg")))[0]]
    assert classify(bracket).kind is SourceKind.BRACKET


def test_missing_shipped_weights_are_explained_in_window_terms(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "DEFAULT_WEIGHTS", tmp_path / "none.safetensors")
    text = engine_problem(ModelFileError("... pass --model FILE ..."), FusionSettings(model=""))
    assert "--" not in text and "choose a model file" in text
    other = ModelFileError("x.safetensors: no such model file")
    assert engine_problem(other, FusionSettings(model="x.safetensors")) == str(other)
