"""The AI tools on tiny ONNX models of the real signatures: loading, pre- and post-processing, outputs decoded."""

from __future__ import annotations

import base64
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import pyvips
from pydantic import ValidationError
from skimage import data

from engine.errors import InvalidInput, PicshaError
from engine.imaging import ImageFile, Workbench
from engine.imaging.chain import run
from engine.imaging.models import missing_model
from engine.imaging import essentials
from engine.imaging import generative as ops
from engine.imaging import models
from engine.imaging.restoration import RESTORE_PHOTO, noise_sigma, scratch_mask
from engine.render.settings import RenderSettings
from engine.settings import Settings
from tests.engine.imaging import onnx_models
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.factories import image_bytes
from tools_manifest.image_tools import Category, image_tools


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("models")
    built = {
        "u2net": onnx_models.u2net(folder / "u2net.onnx"),
        "birefnet": onnx_models.birefnet(folder / "birefnet.onnx"),
        "realesrgan": onnx_models.realesrgan(folder / "realesrgan-x4.onnx"),
        "lama": onnx_models.lama(folder / "lama.onnx"),
        "ddcolor": onnx_models.ddcolor(folder / "ddcolor.onnx"),
        "gfpgan": onnx_models.gfpgan(folder / "gfpgan.onnx"),
        "codeformer": onnx_models.codeformer(folder / "codeformer.onnx"),
    }
    return {key: str(path) for key, path in built.items()}


@pytest.fixture
def ai(model_files: dict[str, str]) -> Workbench:
    return Workbench(render=RenderSettings(), models=model_files, tile_px=64)


def one(result: object) -> ImageFile:
    assert isinstance(result, list) and len(result) == 1
    return result[0]


def png(pixels: np.ndarray) -> bytes:
    image = pyvips.Image.new_from_array(np.ascontiguousarray(pixels))
    return image.copy(interpretation="srgb" if pixels.ndim == 3 else "b-w").pngsave_buffer()


def pixels(file: ImageFile) -> np.ndarray:
    array = decoded(file).numpy()
    return array if array.ndim == 3 else array[:, :, None]


def square_on_black(size: int = 120) -> np.ndarray:
    """A white square in the middle of a black picture."""
    picture = np.zeros((size, size, 3), np.uint8)
    picture[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 255
    return picture


# -- without a model -----------------------------------------------------------------------------


def test_each_tool_names_the_setting_that_enables_it() -> None:
    cases = {ops.REMOVE_BACKGROUND: "U2NET", ops.UPSCALE: "REALESRGAN", ops.ERASE_OBJECT: "LAMA",
             ops.COLORIZE: "DDCOLOR", ops.ENHANCE_FACES: "GFPGAN"}
    for operation, key in cases.items():
        assert missing_model(operation, {}) == f"PICSHA_IMAGING__MODELS__{key}"
        assert missing_model(operation, {key.lower(): "/m.onnx"}) is None
    assert missing_model(RESTORE_PHOTO, {}) is None  # denoising needs no model
    biref = ops.RemoveBackgroundSettings(model=ops.SegmentModel.BIREFNET)
    assert missing_model(ops.REMOVE_BACKGROUND, {"u2net": "/m.onnx"}, biref) == "PICSHA_IMAGING__MODELS__BIREFNET"
    faces = ops.UpscaleSettings(faceEnhance=True)
    assert missing_model(ops.UPSCALE, {"realesrgan": "/m.onnx"}, faces) == "PICSHA_IMAGING__MODELS__GFPGAN"
    assert missing_model(ops.UPSCALE, {"realesrgan": "/m.onnx", "codeformer": "/c.onnx"}, faces) is None
    # a model setting left out takes whichever alternative is configured
    assert missing_model(ops.REMOVE_BACKGROUND, {"birefnet": "/m.onnx"}) is None
    assert missing_model(ops.ENHANCE_FACES, {"codeformer": "/m.onnx"}) is None


def test_a_call_without_its_model_is_a_503_naming_the_setting(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(image_bytes(40, 30), "p.jpg")
    with pytest.raises(PicshaError) as missing:
        run_tool("upscale", [photo], {"scale": 2})
    assert missing.value.status == 503 and missing.value.code == "tool_model_missing"
    assert missing.value.details["setting"] == "PICSHA_IMAGING__MODELS__REALESRGAN"
    assert "PICSHA_IMAGING__MODELS__REALESRGAN" in missing.value.message
    with pytest.raises(PicshaError) as asked:  # a restore step asked for by name needs its model
        run_tool("restore-photo", [photo], {"colorize": True})
    assert asked.value.status == 503 and asked.value.details["setting"] == "PICSHA_IMAGING__MODELS__DDCOLOR"


def test_a_set_path_without_a_model_file_is_a_503(stage: Stage, run_tool: RunTool, tmp_path: Path) -> None:
    photo = stage(image_bytes(40, 30), "p.jpg")
    bench = Workbench(render=RenderSettings(), models={"ddcolor": str(tmp_path / "absent.onnx")})
    with pytest.raises(PicshaError) as absent:
        run_tool("colorize", [photo], {}, workbench=bench)
    assert (absent.value.status, absent.value.code) == (503, "tool_model_missing")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model at all")
    with pytest.raises(PicshaError) as invalid:
        run_tool("colorize", [photo], {}, workbench=replace(bench, models={"ddcolor": str(garbage)}))
    assert (invalid.value.status, invalid.value.code) == (503, "tool_model_invalid")


def test_a_model_of_another_signature_is_refused_by_name(stage: Stage, run_tool: RunTool,
                                                         model_files: dict[str, str]) -> None:
    bench = Workbench(render=RenderSettings(), models={"ddcolor": model_files["u2net"]})  # one output channel
    with pytest.raises(PicshaError) as wrong:
        run_tool("colorize", [stage(image_bytes(40, 30), "p.jpg")], {}, workbench=bench)
    assert wrong.value.code == "tool_model_invalid" and "DDCOLOR" in wrong.value.details["setting"]


def test_settings_read_the_model_paths_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PICSHA_IMAGING__MODELS__LAMA", "/models/lama_fp32.onnx")
    monkeypatch.setenv("PICSHA_IMAGING__MODEL_THREADS", "3")
    imaging = Settings().imaging
    assert imaging.model_paths() == {"lama": "/models/lama_fp32.onnx"} and imaging.model_threads == 3


def test_a_model_is_loaded_once_for_concurrent_callers(model_files: dict[str, str]) -> None:
    loaded: list[models.Session] = []
    workers = [threading.Thread(target=lambda: loaded.append(models.session("gfpgan", model_files, 1)))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(loaded) == 4 and all(session is loaded[0] for session in loaded)


# -- remove-background ---------------------------------------------------------------------------


def test_remove_background_cuts_the_subject_out(stage: Stage, run_tool: RunTool, ai: Workbench) -> None:
    photo = stage(png(square_on_black()), "square.png")
    cut = one(run_tool("remove-background", [photo], {}, workbench=ai))
    alpha = pixels(cut)[:, :, 3]
    assert cut.media_type == "image/png" and alpha[60, 60] == 255 and alpha[5, 5] == 0
    mask = pixels(one(run_tool("remove-background", [photo], {"returnMask": True}, workbench=ai)))
    assert mask.shape == (120, 120, 1) and mask[60, 60, 0] == 255 and mask[5, 5, 0] == 0
    jpeg = stage(pyvips.Image.new_from_array(square_on_black()).copy(interpretation="srgb").jpegsave_buffer(Q=95), "s.jpg")
    filled = one(run_tool("remove-background", [jpeg], {"background": "#ff0000"}, workbench=ai))
    flat = pixels(filled)
    assert filled.media_type == "image/jpeg" and flat.shape[2] == 3
    assert flat[5, 5, 0] > 200 and flat[5, 5, 1] < 50 and flat[60, 60].min() > 200
    transparent = one(run_tool("remove-background", [jpeg], {}, workbench=ai))
    assert transparent.media_type == "image/png"  # JPEG cannot hold the transparency


def test_birefnet_and_alpha_matting(stage: Stage, run_tool: RunTool, ai: Workbench) -> None:
    photo = stage(png(square_on_black()), "square.png")
    biref = pixels(one(run_tool("remove-background", [photo], {"model": "birefnet"}, workbench=ai)))[:, :, 3]
    assert biref[60, 60] == 255 and biref[5, 5] == 0
    only_biref = replace(ai, models={"birefnet": ai.models["birefnet"]})
    chosen = pixels(one(run_tool("remove-background", [photo], {}, workbench=only_biref)))[:, :, 3]
    assert np.array_equal(chosen, biref), "without a model setting, the configured one is used"
    matted = pixels(one(run_tool("remove-background", [photo], {"alphaMatting": True, "alphaMattingForeground": 200,
                                                                 "alphaMattingBackground": 30}, workbench=ai)))[:, :, 3]
    assert matted[60, 60] == 255 and matted[5, 5] == 0
    with pytest.raises(ValidationError):
        run_tool("remove-background", [photo], {"alphaMatting": True, "alphaMattingForeground": 20,
                                                "alphaMattingBackground": 30}, workbench=ai)
    with pytest.raises(ValidationError):
        run_tool("remove-background", [photo], {"model": "sam"}, workbench=ai)


# -- upscale -------------------------------------------------------------------------------------


def test_upscale_scales_and_tiles_without_seams(stage: Stage, run_tool: RunTool, ai: Workbench, tmp_path: Path) -> None:
    gradient = stage(image_bytes(150, 90, "png"), "g.png")
    tiled = one(run_tool("upscale", [gradient], {"scale": 4}, workbench=replace(ai, tile_px=32)))
    whole = one(run_tool("upscale", [gradient], {"scale": 4}, workbench=replace(ai, tile_px=1024)))
    assert (decoded(tiled).width, decoded(tiled).height) == (600, 360) and tiled.media_type == "image/png"
    assert np.array_equal(pixels(tiled), pixels(whole)), "32-pixel tiles give what one pass gives"
    fixed = replace(ai, models={**ai.models, "realesrgan": str(onnx_models.realesrgan(tmp_path / "f.onnx", size=48))})
    assert np.array_equal(pixels(one(run_tool("upscale", [gradient], {"scale": 4}, workbench=fixed))), pixels(whole))
    flat = stage(png(np.full((70, 100, 3), 180, np.uint8)), "flat.png")
    even = pixels(one(run_tool("upscale", [flat], {"scale": 2}, workbench=replace(ai, tile_px=32))))
    assert even.shape == (140, 200, 3) and even.min() == even.max() == 180, "no tile edge shows on a flat image"


def test_upscale_factors_formats_alpha_and_limits(stage: Stage, run_tool: RunTool, ai: Workbench, tmp_path: Path) -> None:
    clear = stage(image_bytes(40, 30, "png", alpha=True), "a.png")
    kept = one(run_tool("upscale", [clear], {"scale": 2}, workbench=ai))
    assert decoded(kept).hasalpha() and (decoded(kept).width, decoded(kept).height) == (80, 60)
    x2 = replace(ai, models={**ai.models, "realesrgan": str(onnx_models.realesrgan(tmp_path / "x2.onnx", factor=2))})
    four = one(run_tool("upscale", [stage(image_bytes(40, 30), "p.jpg")], {"scale": 4, "format": "webp"}, workbench=x2))
    assert four.media_type == "image/webp" and (decoded(four).width, decoded(four).height) == (160, 120)
    small_limit = replace(ai, render=RenderSettings(max_output_pixels=10_000))
    with pytest.raises(InvalidInput) as too_big:
        run_tool("upscale", [clear], {"scale": 4}, workbench=small_limit)
    assert "scale 2" in too_big.value.message
    with pytest.raises(ValidationError):
        run_tool("upscale", [clear], {"scale": 3}, workbench=ai)


# -- erase-object --------------------------------------------------------------------------------


def _erase_inputs() -> tuple[np.ndarray, np.ndarray]:
    picture = np.zeros((100, 160, 3), np.uint8)
    picture[:, :, 2] = 200  # blue everywhere
    picture[40:60, 60:90] = (255, 0, 0)  # a red object
    mask = np.zeros((100, 160), np.uint8)
    mask[38:62, 58:92] = 255
    return picture, mask


def test_erase_object_fills_what_the_mask_file_covers(stage: Stage, run_tool: RunTool, ai: Workbench) -> None:
    picture, mask = _erase_inputs()
    erased = pixels(one(run_tool("erase-object", [stage(png(picture), "p.png"), stage(png(mask), "m.png")], {},
                                 workbench=ai)))
    assert abs(int(erased[50, 75, 0]) - 128) <= 2, "the object is filled (the fake model fills mid grey)"
    outside = np.ones((100, 160), bool)
    outside[38:62, 58:92] = False
    assert np.array_equal(erased[outside], picture[outside]), "pixels outside the mask are untouched"


def test_erase_object_takes_the_mask_as_base64_settings(stage: Stage, run_tool: RunTool, ai: Workbench) -> None:
    picture, mask = _erase_inputs()
    photo = stage(png(picture), "p.png")
    small_mask = pyvips.Image.new_from_array(mask).resize(0.5, kernel="nearest").pngsave_buffer()  # scaled to fit
    encoded = "data:image/png;base64," + base64.b64encode(small_mask).decode()
    erased = pixels(one(run_tool("erase-object", [photo], {"maskData": encoded}, workbench=ai)))
    assert abs(int(erased[50, 75, 0]) - 128) <= 2 and erased[5, 5, 2] == 200
    empty = base64.b64encode(png(np.zeros((4, 4), np.uint8))).decode()
    for bad in ({}, {"maskData": "!!!"}, {"maskData": base64.b64encode(b"GIF89a....").decode()}, {"maskData": empty}):
        with pytest.raises(InvalidInput) as refused:
            run_tool("erase-object", [photo], bad, workbench=ai)
        assert refused.value.code == "tool_settings_invalid"
    with pytest.raises(InvalidInput):  # a third file
        run_tool("erase-object", [photo, photo, photo], {}, workbench=ai)


# -- colorize ------------------------------------------------------------------------------------


def test_colorize_adds_colour_and_keeps_lightness(stage: Stage, run_tool: RunTool, ai: Workbench) -> None:
    grey = np.repeat(np.linspace(40, 220, 90, dtype=np.uint8)[None, :, None], 60, axis=0).repeat(3, axis=2)
    photo = stage(png(grey), "old.png")
    coloured = pixels(one(run_tool("colorize", [photo], {}, workbench=ai))).astype(int)
    assert coloured.shape == (60, 90, 3)
    assert coloured[30, 80, 0] - coloured[30, 80, 1] > 20 and coloured[30, 80, 2] > coloured[30, 80, 1]  # a > 0, b < 0
    lab_in = pyvips.Image.new_from_array(grey).copy(interpretation="srgb").colourspace("lab").numpy()[:, :, 0]
    lab_out = pyvips.Image.new_from_array(coloured.astype(np.uint8)).copy(interpretation="srgb").colourspace("lab")
    assert np.abs(lab_out.numpy()[:, :, 0] - lab_in).max() < 3, "the photo's own lightness is kept"
    plain = pixels(one(run_tool("colorize", [photo], {"intensity": 0}, workbench=ai))).astype(int)
    assert np.abs(plain - grey).max() <= 1


# -- enhance-faces -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portrait() -> bytes:
    return png(data.astronaut())


def test_enhance_faces_restores_the_face_only(stage: Stage, run_tool: RunTool, ai: Workbench, portrait: bytes) -> None:
    photo = stage(portrait, "astronaut.png")
    before = data.astronaut().astype(int)
    after = pixels(one(run_tool("enhance-faces", [photo], {}, workbench=ai))).astype(int)
    assert after.shape == before.shape
    changed = np.abs(after - before).max(axis=2) > 60  # the fake model inverts what it is given
    rows, cols = np.nonzero(changed)
    assert changed.sum() > 2000 and 100 < rows.mean() < 250 and 150 < cols.mean() < 300, "around the face"
    assert np.array_equal(after[450:, :], before[450:, :]) and np.array_equal(after[:, :100], before[:, :100])
    untouched = pixels(one(run_tool("enhance-faces", [photo], {"strength": 0}, workbench=ai))).astype(int)
    assert np.abs(untouched - before).max() <= 1
    weighted = pixels(one(run_tool("enhance-faces", [photo], {"model": "codeformer", "centerFace": True}, workbench=ai)))
    assert np.abs(weighted.astype(int) - before).max() > 30  # CodeFormer's weight input is fed too


# -- restore-photo -------------------------------------------------------------------------------


def test_restore_photo_runs_the_configured_steps_and_reports_the_rest(stage: Stage, run_tool: RunTool,
                                                                      ai: Workbench) -> None:
    old = np.full((80, 120, 3), 200, np.uint8)
    old[40, 10:110] = 20  # a scratch
    photo = stage(png(old), "old.png")
    said: list[str] = []
    bare = Workbench(render=RenderSettings(), progress=lambda _f, message: said.append(message))
    plain = pixels(one(run_tool("restore-photo", [photo], {"denoise": False}, workbench=bare)))
    assert plain[40, 60, 0] == 20, "without LaMa the scratch stays"
    assert any("PICSHA_IMAGING__MODELS__LAMA" in line for line in said)
    assert any("PICSHA_IMAGING__MODELS__DDCOLOR" in line for line in said)  # a grey photo would be coloured
    restored = pixels(one(run_tool("restore-photo", [photo], {"denoise": False, "mode": "heavy"}, workbench=ai)))
    assert restored.shape == (80, 120, 3)
    assert restored[40, 60].astype(int).mean() > 100, "the scratch is filled"
    assert int(restored[10, 60, 0]) - int(restored[10, 60, 1]) > 10, "the grey photo is colourised"
    kept = pixels(one(run_tool("restore-photo", [photo], {"colorize": False, "scratchRemoval": False}, workbench=ai)))
    assert np.abs(kept[10, 60].astype(int) - 200).max() <= 3


def test_restore_helpers_find_scratches_and_noise() -> None:
    clean = np.full((64, 64, 3), 128, np.uint8)
    scratched = clean.copy()
    scratched[10:50, 30] = 250
    assert scratch_mask(scratched, 30)[30, 30] and not scratch_mask(scratched, 30)[30, 5]
    assert not scratch_mask(clean, 30).any()
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    assert noise_sigma(clean) < 1 < 8 < noise_sigma(noisy)


def test_the_ai_tools_are_declared_with_examples_that_parse() -> None:
    model_tools = {"remove-background", "upscale", "erase-object", "colorize", "enhance-faces", "restore-photo"}
    declared = {tool.id: tool for tool in image_tools() if tool.category is Category.AI and tool.id in model_tools}
    assert set(declared) == model_tools
    for tool in declared.values():
        tool.parse(tool.example)
        assert tool.entry()["takes"] in ("one", "one-or-two") and tool.entry()["gives"] == "file"


def test_ai_steps_in_a_file_pipeline(stage: Stage, ai: Workbench, tmp_path: Path) -> None:
    picture, mask = _erase_inputs()
    encoded = base64.b64encode(png(mask)).decode()
    steps = [(essentials.RESIZE, essentials.ResizeSettings(percentage=50)),
             (ops.ERASE_OBJECT, ops.EraseObjectSettings(maskData=encoded)),  # the mask is scaled to the step's input
             (ops.UPSCALE, ops.UpscaleSettings(scale=2))]
    made = run(steps, [stage(png(picture), "p.png")], ai, tmp_path)
    assert isinstance(made, list) and (decoded(made[0]).width, decoded(made[0]).height) == (160, 100)
    assert abs(int(pixels(made[0])[50, 75, 0]) - 128) <= 4
    said: list[str] = []
    without = Workbench(render=RenderSettings(), progress=lambda _f, message: said.append(message))
    with pytest.raises(PicshaError) as missing:
        run(steps, [stage(png(picture), "p.png")], without, tmp_path)
    assert missing.value.details["setting"] == "PICSHA_IMAGING__MODELS__LAMA" and not said, "refused before any step"


def test_a_mask_over_the_pixel_limit_is_refused_before_decoding(stage: Stage, run_tool: RunTool, ai: Workbench) -> None:
    huge = base64.b64encode(pyvips.Image.black(3000, 3000).pngsave_buffer()).decode()
    with pytest.raises(InvalidInput) as refused:
        run_tool("erase-object", [stage(image_bytes(40, 30, "png"), "p.png")], {"maskData": huge},
                 workbench=replace(ai, render=RenderSettings(max_input_pixels=1_000_000)))
    assert "1,000,000" in refused.value.message
