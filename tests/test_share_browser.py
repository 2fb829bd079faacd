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
    from voiceroutine.cache import PhraseCache
    from voiceroutine.pipeline import cached_lengths
    from voiceroutine.share.studio_form import find_bases, routine_from_form

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

        # The page's total is the library's plan of the same form, with the phrases spoken before at their real lengths.
        form = {
            "base": "bed-back",
            "title": "Two quick ones",
            "stretches": [{"id": "hamstring", "hold": 6, "rest": 10, "sides": "both"}, {"id": "piriformis", "hold": 4, "rest": 10, "sides": "both"}],
            "settings": {"guidance": "minimal", "pace": "calm", "engine": "pyttsx3", "voice": ""},
        }
        _, routine = routine_from_form(form, find_bases(studio_folder))
        settings = resolve_settings(routine.settings)
        assert after == plan(routine, settings, cached_lengths(routine, settings, PhraseCache())).duration_ms
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


def test_studio_in_spanish_shows_the_translation_and_plans_it(browser, studio_folder):
    """Choosing Spanish brings bed-back's Spanish title and stretch names, marked lang="es", espeak's Spanish voice
    as the default, and a new total: the library's plan of the form the page sent; the console stays clean."""
    from urllib.parse import parse_qs, urlsplit

    from voiceroutine import load_routine, plan, resolve_settings
    from voiceroutine.cache import PhraseCache
    from voiceroutine.pipeline import cached_lengths
    from voiceroutine.share.studio_form import find_bases, routine_from_form

    with RunningShare(studio_folder, studio=True) as share:
        context, page, problems = open_page_watching_the_console(browser, share.url, studio=True, **PHONE)
        planned = []
        page.on("request", lambda request: planned.append(request.url) if "studio/plan?" in request.url else None)
        before = page.locator("#studio-total").get_attribute("data-ms")
        page.select_option("#studio-language", "es")
        after = shown_total_ms(page, before)
        shown = page.evaluate(
            """() => ({title: [document.getElementById('studio-title').value, document.getElementById('studio-title').lang],
                      names: [...document.querySelectorAll('#stretch-rows .name')].map(span => [span.textContent, span.lang]),
                      voice: document.getElementById('studio-voice').selectedOptions[0].textContent})"""
        )
        context.close()
    spanish = load_routine("bed-back", "es")
    assert shown["title"] == [spanish.title, "es"]
    assert shown["names"] == [[s.name, "es"] for s in spanish.stretches]
    assert shown["voice"].startswith("default: Spanish")
    sent = json.loads(parse_qs(urlsplit(planned[-1]).query)["form"][0])
    assert sent["language"] == "es"
    _, routine = routine_from_form(sent, find_bases(studio_folder))
    settings = resolve_settings(routine.settings)
    assert routine.language == "es"
    assert after == plan(routine, settings, cached_lengths(routine, settings, PhraseCache())).duration_ms
    assert problems == []


# Every page is clean in the console, usable from the keyboard, and labelled.

CONTROLS = "a[href], button, input, select, textarea, summary, audio[controls]"


def open_page_watching_the_console(browser, url: str, studio: bool, **context_options):
    """The page loaded (and the studio's form opened and planned), with every console error and script error it raised."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"error: {error}"))
    page.goto(url)
    page.wait_for_function(ALL_AUDIO_READY, timeout=20_000)
    if studio:
        open_studio(page)
    return context, page, problems


@pytest.mark.parametrize("studio", [False, True], ids=["page", "studio"])
def test_no_console_errors(browser, studio_folder, studio):
    """Loading the page, opening the studio, planning and choosing music raise no error and break no rule of the
    page's Content-Security-Policy (Chromium reports each refused script or style as a console error)."""
    from urllib.parse import unquote

    from test_studio_music import write_tone

    write_tone(studio_folder / "tone.wav")
    with RunningShare(studio_folder, studio=studio) as share:
        context, page, problems = open_page_watching_the_console(browser, share.url, studio, **PHONE)
        page.locator("section#short button[data-start]").nth(1).click()
        page.wait_for_function("() => !document.querySelector('section#short audio').paused")
        if studio:
            page.locator("#stretch-rows li").nth(0).locator("button[aria-label$='longer']").first.click()
            total = shown_total_ms(page, page.locator("#studio-total").get_attribute("data-ms"))
            music = [page.locator("#studio-music option").all_inner_texts(), page.locator("#studio-music_level option:checked").inner_text()]
            # The plan takes the music and its level; music adds no time.
            plans = []
            for select, value, sent in (("#studio-music", "tone.wav", '"music":"tone.wav"'), ("#studio-music_level", "-24", '"music_level":"-24"')):
                with page.expect_response(lambda r, sent=sent: "studio/plan?" in r.url and sent in unquote(r.url)) as planned:
                    page.select_option(select, value)
                plans.append(planned.value.json())
        context.close()
    assert problems == []
    if studio:
        assert music == [["none", "tone.wav"], "\u221220 (default)"]
        assert [plan["duration_ms"] for plan in plans] == [total, total]


def test_every_control_is_reachable_by_keyboard(browser, studio_folder):
    """Tabbing through the page (studio open) reaches every visible link, button, field, player and summary."""
    with RunningShare(studio_folder, studio=True) as share:
        context, page, problems = open_page_watching_the_console(browser, share.url, studio=True)
        page.evaluate(f"document.querySelectorAll({CONTROLS!r}).forEach((el, i) => el.dataset.control = i)")
        visible = set(page.evaluate(f"[...document.querySelectorAll({CONTROLS!r})].filter(el => el.checkVisibility()).map(el => el.dataset.control)"))
        page.evaluate("document.activeElement.blur()")
        reached = set()
        for _ in range(4 * len(visible)):  # a player's controls take several stops
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.dataset.control"))
            if visible <= reached:
                break
        missing = page.evaluate(f"ids => [...document.querySelectorAll({CONTROLS!r})].filter(el => ids.includes(el.dataset.control)).map(el => el.outerHTML.slice(0, 80))", sorted(visible - reached))
        context.close()
    assert len(visible) > 30
    assert missing == []
    assert problems == []


def test_every_field_has_a_label(browser, studio_folder):
    """Each input and select, those the studio's script makes included, has a name a screen reader says."""
    with RunningShare(studio_folder, studio=True) as share:
        context, page, _ = open_page_watching_the_console(browser, share.url, studio=True, **PHONE)
        fields = page.evaluate(
            """[...document.querySelectorAll('input, select, textarea, progress')].map(el => ({
                html: el.outerHTML.slice(0, 80),
                label: [...el.labels || []].map(l => l.textContent.trim()).join(' ') || el.getAttribute('aria-label') || '',
            }))"""
        )
        context.close()
    assert len(fields) > 20  # the form's own fields and each stretch row's
    assert [f["html"] for f in fields if not f["label"].strip()] == []
