"""The media library page in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

Sign in with a key, upload three files through the file chooser, see their thumbnails load, search, open an
asset, edit its tags, delete (or trash and restore, where the server has a trash), with screenshots checked
for content. Skips without Chromium or Playwright on a developer's machine; fails in CI.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from PIL import Image, ImageStat

from engine import Engine
from tests.conftest import LiveServer
from tests.factories import image_bytes, make_key

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser


def _need_browser() -> None:
    missing = "Playwright" if sync_playwright is None else None if os.path.exists(CHROMIUM) else "Chromium"
    if missing is None:
        return
    message = f"{missing} is not installed (make chromium; pip install -e '.[test]')"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _need_browser()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda message: _note(message, problems))
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.problems = problems  # type: ignore[attr-defined]
    yield opened
    context.close()


def _note(message: ConsoleMessage, problems: list[str]) -> None:
    text = message.text
    # The page asks whether routes exist: 404 (this server lacks it; the page hides what needs it) and, before
    # sign-in, 401 from the session route (the server has user logins). Chromium logs both as failed loads.
    if message.type == "error" and not any(f"status of {status}" in text for status in (401, 404)):
        problems.append(text)


def _key(server: LiveServer) -> str:
    """A key of a new account; made on another thread, as Playwright's sync API holds this one's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(make_key, server.settings).result()


def _screenshot_has_content(page: Page, path: Path) -> None:
    page.screenshot(path=str(path))
    image = Image.open(path).convert("L")
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 12, f"{path.name} looks blank (pixel deviation {stat.stddev[0]:.1f})"


def _files(folder: Path) -> list[Path]:
    files = [("harbour.jpg", image_bytes(900, 600, "jpeg")), ("meadow.png", image_bytes(640, 640, "png")),
             ("sunset.webp", image_bytes(800, 500, "webp"))]
    paths = []
    for name, data in files:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def _thumbnails_loaded(page: Page) -> int:
    return page.evaluate(
        "() => [...document.querySelectorAll('.tile:not([hidden]) img')]"
        ".filter(img => !img.hidden && img.complete && img.naturalWidth > 0).length"
    )


def test_sign_in_upload_search_edit_and_delete(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    key = _key(live_server)
    page.goto(live_server.url + "/")

    # sign in with the key (this server has no user logins: the form for them stays hidden)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Open the library").click()
    expect(page.locator("#library")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Nothing here yet")
    assert page.evaluate("() => sessionStorage.getItem('picsha.token')") == key

    # upload three files through the dashboard's file chooser
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".uppy-Dashboard-inner")).to_be_visible(timeout=30_000)
    with page.expect_file_chooser() as chooser:
        page.locator(".uppy-Dashboard-browse").first.click()
    chooser.value.set_files([str(path) for path in _files(tmp_path)])
    expect(page.locator(".uppy-StatusBar")).to_contain_text("Complete", timeout=30_000)
    page.get_by_role("button", name="Done").click()
    expect(page.locator(".uppy-Dashboard-inner")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("3 assets", timeout=15_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile:not([hidden]) img')].filter(i => i.complete && i.naturalWidth > 0).length === 3",
        timeout=15_000,
    )
    names = page.locator(".tile:not([hidden]) .name").all_inner_texts()
    assert sorted(names) == ["harbour.jpg", "meadow.png", "sunset.webp"]
    _screenshot_has_content(page, tmp_path / "grid.png")

    # search as you type: the hybrid search narrows the grid to the matching file
    page.get_by_label("Search the library").fill("meadow")
    expect(page.locator(".tile:not([hidden]) .name")).to_have_text(["meadow.png"], timeout=10_000)
    assert _thumbnails_loaded(page) == 1 or page.wait_for_function(
        "() => document.querySelector('.tile:not([hidden]) img').naturalWidth > 0")

    # open it: the large preview loads; add a tag and remove it again
    page.get_by_role("button", name="Open meadow.png").click()
    dialog = page.get_by_role("dialog", name="meadow.png")
    expect(dialog).to_be_visible()
    page.wait_for_function("() => document.querySelector('.big-img')?.naturalWidth > 0", timeout=15_000)
    expect(dialog.get_by_role("heading", name="What Picsha understood")).to_be_visible()
    dialog.get_by_label("New tags").fill("summer, field")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog.get_by_role("list", name="Tags")).to_contain_text("summer")
    dialog.get_by_role("button", name="Remove tag field").click()
    expect(dialog.get_by_role("button", name="Remove tag field")).to_have_count(0)
    page.wait_for_function("() => document.querySelector('.render-preview')?.naturalWidth > 0", timeout=15_000)
    signed = dialog.locator("#render-url").input_value()
    assert "sig=" in signed and "/render?" in signed
    _screenshot_has_content(page, tmp_path / "asset.png")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx2.Client(base_url=live_server.url, timeout=30) as http:
        listed = http.get("/v1/assets", headers=headers).json()["items"]
        meadow = next(item for item in listed if item["filename"] == "meadow.png")
        assert meadow["tags"] == ["summer"]
        rendered = http.get(signed)  # the copyable link works without a key
        assert rendered.status_code == 200 and Image.open(io.BytesIO(rendered.content)).width == 800
        has_trash = http.get("/v1/assets/trash", headers=headers).status_code == 200

    # delete it: to the trash and back where the server has one, else for good (after the confirmation)
    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Move to trash" if has_trash else "Delete").click()
    expect(dialog).to_be_hidden()
    page.get_by_label("Search the library").fill("")
    expect(page.locator("#status")).to_contain_text("2 assets", timeout=10_000)
    if has_trash:
        page.get_by_role("button", name="Trash").click()
        page.get_by_role("button", name="Open meadow.png").click()
        page.get_by_role("button", name="Restore").click()
        page.get_by_role("button", name="All assets").click()
        expect(page.locator("#status")).to_contain_text("3 assets", timeout=10_000)
    assert page.problems == []  # type: ignore[attr-defined]


def test_the_page_keeps_its_csp_with_uppy_loaded(live_server: LiveServer, page: Page) -> None:
    """Uppy's bundle and every module run under the strict CSP: no violation is reported while it loads."""
    key = _key(live_server)
    page.add_init_script(
        "window.__violations = []; document.addEventListener('securitypolicyviolation', e => "
        "window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(live_server.url + "/")
    page.get_by_label("API key").fill(key)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".uppy-Dashboard-inner")).to_be_visible(timeout=30_000)
    assert page.evaluate("() => window.__violations") == []
    assert page.problems == []  # type: ignore[attr-defined]


def _library_with(server: LiveServer, page: Page, names: list[str]) -> tuple[str, list[str]]:
    """An account holding ``names`` (uploaded over the API), its key, and the page signed in with it."""
    key = _key(server)
    ids = []
    with httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        for index, name in enumerate(names):
            created = http.post("/v1/assets", files={"file": (name, image_bytes(320 + index, 240, "png"))})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
    page.goto(server.url + "/")
    page.get_by_label("API key").fill(key)
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text(f"{len(names)} assets")
    return key, ids


def test_keyboard_selection_and_a_bulk_tag(live_server: LiveServer, page: Page) -> None:
    key, ids = _library_with(live_server, page, ["one.png", "two.png", "three.png"])
    page.get_by_role("button", name="Open three.png").focus()  # newest first
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_role("dialog", name="Tag 2 assets").get_by_role("textbox").fill("keep")
    page.get_by_role("button", name="OK").click()
    expect(page.locator("#toast")).to_contain_text("Tagged 2 assets")
    with httpx2.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        tags = {asset["filename"]: asset["tags"] for asset in http.get("/v1/assets").json()["items"]}
    assert tags == {"three.png": ["keep"], "two.png": ["keep"], "one.png": []}
    assert page.problems == []  # type: ignore[attr-defined]


def test_bulk_trash_and_restore(live_server: LiveServer, page: Page) -> None:
    key, ids = _library_with(live_server, page, ["keep.png", "bin.png"])
    with httpx2.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        if http.get("/v1/assets/trash").status_code != 200:
            pytest.skip("this server has no trash (GET /v1/assets/trash answers 404): delete is tested for good "
                        "in test_sign_in_upload_search_edit_and_delete")
    page.get_by_role("checkbox", name="Select bin.png").check()
    page.get_by_role("button", name="Move to trash").click()
    expect(page.locator("#status")).to_contain_text("1 asset", timeout=10_000)
    page.get_by_role("button", name="Trash").click()
    expect(page.locator(".tile:not([hidden]) .name")).to_have_text(["bin.png"], timeout=10_000)
    page.get_by_role("checkbox", name="Select bin.png").check()
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("#status")).to_contain_text("Nothing here yet in the trash", timeout=10_000)
    page.get_by_role("button", name="All assets").click()
    expect(page.locator("#status")).to_contain_text("2 assets", timeout=10_000)


def test_folders_in_the_side_bar_and_a_bulk_move(live_server: LiveServer, page: Page) -> None:
    key, ids = _library_with(live_server, page, ["loose.png", "filed.png"])
    with httpx2.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        if http.get("/v1/folders").status_code != 200:
            pytest.skip("this server has no folders (GET /v1/folders answers 404): the side bar hides them")
    page.get_by_label("New folder name").fill("Holidays")
    page.get_by_role("button", name="Create folder").click()
    folder = page.get_by_role("navigation", name="Library").get_by_role("button", name="Holidays")
    expect(folder).to_be_visible()
    page.get_by_role("checkbox", name="Select filed.png").check()
    page.get_by_role("button", name="Move to folder").click()
    page.get_by_role("dialog", name="Move 1 asset").get_by_role("combobox").select_option(label="Holidays")
    page.get_by_role("button", name="OK").click()
    expect(page.locator("#toast")).to_contain_text("Moved 1 asset")
    folder.click()
    expect(page.locator(".tile:not([hidden]) .name")).to_have_text(["filed.png"], timeout=10_000)
    expect(folder).to_have_attribute("aria-current", "page")
    assert page.problems == []  # type: ignore[attr-defined]


def test_sign_in_with_a_password_and_out(live_server: LiveServer, page: Page) -> None:
    try:
        from engine.accounts.models import UserCreate
    except ImportError:
        pytest.skip("this server has no user accounts (no engine.accounts): the page offers the API key form only")

    async def make_user() -> None:
        async with Engine.open(live_server.settings) as engine:
            account_id = await engine.keys.create_account("people")
            await engine.accounts.users.create(account_id, UserCreate(username="ada", password="correct horse battery"))

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, make_user()).result()
    page.goto(live_server.url + "/")
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#who")).to_have_text("ada")
    expect(page.locator("#status")).to_contain_text("Nothing here yet")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('picsha.token')") is None
