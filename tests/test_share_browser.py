"""The share page in a real browser: Debian's Chromium, headless, driven by Playwright.

./scripts/test installs Chromium; these tests skip, saying why, only where it
could not be installed.
"""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import RunningShare

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox (tests may run as root), and none of Chromium's calls home, which this network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--mute-audio",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium is not installed (./scripts/test installs it with apt-get)"),
]

ALL_AUDIO_READY = "[...document.querySelectorAll('audio')].every(a => a.readyState >= 1 || a.error)"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(browser, shared_folder):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    with RunningShare(shared_folder) as share:
        page.goto(share.url)
        page.wait_for_function(ALL_AUDIO_READY, timeout=20_000)
        yield page
    context.close()


def manifests(folder) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}


def test_every_routine_is_on_the_page_with_a_player_that_knows_its_length(phone_page, shared_folder):
    built = manifests(shared_folder)
    cards = phone_page.evaluate(
        """[...document.querySelectorAll('section.routine')].map(card => {
            const audio = card.querySelector('audio');
            return {id: card.id, title: card.querySelector('h2').textContent, duration: audio.duration,
                    error: audio.error && audio.error.code,
                    chapters: [...card.querySelectorAll('button[data-start]')].map(b => b.lastElementChild.textContent)};
        })"""
    )
    assert sorted(card["id"] for card in cards) == sorted(built)
    for card in cards:
        manifest = built[card["id"]]
        assert card["error"] is None, f"{card['id']}: the browser could not load its audio"
        assert card["title"] == manifest["routine"]["title"]
        assert card["duration"] == pytest.approx(manifest["audio"]["duration_ms"] / 1000, abs=0.15)
        assert card["chapters"] == [c["title"] for c in manifest["chapters"]]


def test_a_chapter_seeks_the_player_and_it_plays(phone_page, shared_folder):
    manifest = manifests(shared_folder)["short"]
    chapter = manifest["chapters"][2]
    card = phone_page.locator("section#short")
    card.locator("button[data-start]").nth(2).click()
    phone_page.wait_for_function(
        "([id, start]) => { const a = document.querySelector(`section#${id} audio`); return !a.paused && a.currentTime > start + 0.3; }",
        arg=["short", chapter["start_ms"] / 1000],
        timeout=10_000,
    )
    position = phone_page.evaluate("document.querySelector('section#short audio').currentTime")
    assert chapter["start_ms"] / 1000 <= position < chapter["end_ms"] / 1000
    assert card.locator("button[aria-current=true]").inner_text().endswith(chapter["title"])


def test_the_page_fits_a_phone_and_loads_nothing_from_elsewhere(browser, shared_folder):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    with RunningShare(shared_folder) as share:
        page.goto(share.url)
        page.wait_for_function(ALL_AUDIO_READY, timeout=20_000)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        covers = page.evaluate("[...document.images].map(img => img.naturalWidth)")
        origin = share.origin
    context.close()
    assert overflow <= 0, "the page scrolls sideways on a phone"
    assert covers and all(width > 0 for width in covers), "a cover did not load"
    assert requested and all(url.startswith(origin + "/") for url in requested), [u for u in requested if not u.startswith(origin)]


@pytest.fixture
def studio_folder(tmp_path, shared_folder):
    folder = tmp_path / "shared"
    shutil.copytree(shared_folder, folder)
    return folder


def open_studio(page) -> None:
    page.locator("#studio summary").click()
    page.wait_for_selector("#studio-form[data-ready=true]")
    page.wait_for_function("() => document.getElementById('studio-total').dataset.ms")


def shown_total_ms(page, different_from: str | None = None) -> int:
    page.wait_for_function(
        "old => { const t = document.getElementById('studio-total'); return t.dataset.ms && t.dataset.ms !== old; }",
        arg=different_from,
        timeout=10_000,
    )
    return int(page.locator("#studio-total").get_attribute("data-ms"))


def test_studio_builds_a_routine_with_the_holds_asked_for_and_plays_it(browser, studio_folder):
    from voiceroutine import plan, resolve_settings
    from voiceroutine.share.studio import find_bases, routine_from_form

    context = browser.new_context(**PHONE)
    page = context.new_page()
    with RunningShare(studio_folder, studio=True) as share:
        page.goto(share.url)
        open_studio(page)
        rows = page.locator("#stretch-rows li")
        for i in range(2, rows.count()):
            rows.nth(i).locator(".include").uncheck()
        page.fill("#studio-title", "Two quick ones")
        page.select_option("#studio-guidance", "minimal")
        before = shown_total_ms(page)
        rows.nth(0).locator(".hold").fill("6")
        rows.nth(1).locator("button[aria-label$='shorter']").first.click()  # 30 s -> 25 s
        rows.nth(1).locator(".hold").fill("4")
        after = shown_total_ms(page, str(before))

        # The page's total is the library's plan of the same form.
        form = {
            "base": "bed-back",
            "title": "Two quick ones",
            "stretches": [{"id": "hamstring", "hold": 6, "rest": 10, "sides": "both"}, {"id": "piriformis", "hold": 4, "rest": 10, "sides": "both"}],
            "settings": {"guidance": "minimal", "pace": "calm", "engine": "pyttsx3", "voice": ""},
        }
        _, routine = routine_from_form(form, find_bases(studio_folder))
        assert after == plan(routine, resolve_settings(routine.settings)).duration_ms
        assert after < before

        page.click("#studio-build")
        page.wait_for_url("**#two-quick-ones", timeout=180_000)
        page.wait_for_function(
            "() => { const a = document.querySelector('section#two-quick-ones audio'); return a && a.readyState >= 1; }",
            timeout=20_000,
        )
        duration = page.evaluate("document.querySelector('section#two-quick-ones audio').duration")
    context.close()
    manifest = json.loads((studio_folder / "two-quick-ones.json").read_text())
    assert [(s["id"], s["hold_ms"]) for s in manifest["routine"]["stretches"]] == [("hamstring", 6000), ("piriformis", 4000)]
    assert duration == pytest.approx(manifest["audio"]["duration_ms"] / 1000, abs=0.15)
    assert (studio_folder / "two-quick-ones.toml").read_text().startswith("# Made with voiceroutine share --studio")


def test_studio_refuses_a_bad_hold_on_the_page_and_builds_nothing(browser, studio_folder):
    before = sorted(p.name for p in studio_folder.iterdir())
    context = browser.new_context(**PHONE)
    page = context.new_page()
    with RunningShare(studio_folder, studio=True) as share:
        page.goto(share.url)
        open_studio(page)
        page.locator("#stretch-rows li").nth(1).locator(".hold").fill("0")
        page.wait_for_function("() => document.getElementById('studio-message').textContent.includes('hold')")
        assert "stretch[2].hold" in page.inner_text("#studio-message")
        assert page.locator("#stretch-rows li").nth(1).get_attribute("class") == "invalid"
        assert page.inner_text("#studio-total") == "\u2013"
        page.click("#studio-build")
        page.wait_for_function("() => !document.getElementById('studio-build').disabled")
        assert "out of range" in page.inner_text("#studio-message")
    context.close()
    assert sorted(p.name for p in studio_folder.iterdir()) == before
