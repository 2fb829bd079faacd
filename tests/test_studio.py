"""`voiceroutine share --studio`: the form's plan and checks, builds and their queue, through the app's endpoints.

Most tests inject a fake builder (small stand-in files, or held mid-build on an
Event) so the queue can be filled deterministically; one integration test
builds for real with pyttsx3.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import voiceroutine
from voiceroutine import SynthesisError, load_routine, resolve_settings
from voiceroutine.cache import PhraseCache
from voiceroutine.export import MANIFEST_FORMAT
from voiceroutine.pipeline import cached_lengths
from voiceroutine.routine import builtin_ids, read_routine_text
from voiceroutine.share.app import make_app
from voiceroutine.share.studio import MAX_WAITING, STUDIO_HEADER, Studio, build_with_library
from voiceroutine.share.studio_api import MAX_FORM_BYTES

from conftest import RATE, SHORT_ROUTINE, decode, read_manifest

TOKEN = "studio-test-token"
SAFE_NAME = re.compile(r"^[a-z0-9-]+\.(mp3|toml|json|lrc|vtt)$")
BED_BACK_IDS = ["hamstring", "piriformis", "hip-flexor", "butterfly", "prone-quad"]


def stretch(id: str, hold: object = 20, **more) -> dict:
    return {"id": id, "hold": hold, **more}


def form(stretches: list | None = None, **changes) -> dict:
    """A form as the page sends it: bed-back's hamstring (both sides) and butterfly (one), minimal guidance."""
    data = {
        "base": "bed-back",
        "language": "en",
        "title": "Morning",
        "stretches": [stretch("hamstring"), stretch("butterfly")] if stretches is None else stretches,
        "settings": {"guidance": "minimal", "pace": "calm", "engine": "pyttsx3", "voice": ""},
    }
    return data | changes


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too), by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class FakeBuilder:
    """Writes a small stand-in for each file of a build; with ``held``, waits at its first report until released."""

    def __init__(self, held: bool = False, fail: dict[str, Exception] | None = None) -> None:
        self.gate = threading.Event()
        if not held:
            self.gate.set()
        self.fail = fail or {}  # routine id -> what to raise
        self.routines: list = []  # what it was asked to build, in order
        self.outputs: list[Path] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, routine, output: Path, progress) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.routines.append(routine)
            self.outputs.append(output)
        try:
            progress("Synthesising", 0, 2)
            if not self.gate.wait(30):
                raise RuntimeError("the test never released the builder")
            if routine.id in self.fail:
                raise self.fail[routine.id]
            progress("Synthesising", 2, 2)
            holds = [s.hold_ms for s in routine.stretches]
            for suffix in (".mp3", ".lrc", ".vtt"):
                output.with_suffix(suffix).write_text(f"{routine.id} {holds}\n")
            manifest = {
                "format": MANIFEST_FORMAT,
                "routine": {"id": routine.id, "stretches": [{"id": s.id, "hold_ms": s.hold_ms} for s in routine.stretches]},
                "audio": {"file": output.name},
                "files": {"lrc": output.with_suffix(".lrc").name, "vtt": output.with_suffix(".vtt").name},
            }
            output.with_suffix(".json").write_text(json.dumps(manifest))
            progress("Encoding", 1, 1)
        finally:
            with self._lock:
                self.running -= 1

    @property
    def built(self) -> list[str]:
        return [r.id for r in self.routines]


@dataclass
class Share:
    folder: Path
    builder: FakeBuilder
    studio: Studio
    client: TestClient

    def url(self, path: str) -> str:
        return f"/{TOKEN}/{path}"

    def plan(self, data: object):
        raw = data if isinstance(data, str) else json.dumps(data)
        return self.client.get(self.url("studio/plan"), params={"form": raw})

    def build(self, data: object):
        raw = data if isinstance(data, str) else json.dumps(data)
        return self.client.post(self.url("studio/build"), content=raw, headers={"content-type": "application/json"})

    def job(self, job_id: str) -> dict:
        reply = self.client.get(self.url(f"studio/jobs/{job_id}"))
        assert reply.status_code == 200, reply.text
        return reply.json()

    def wait(self, job_id: str, until: tuple[str, ...] = ("done", "failed"), timeout_s: float = 10) -> dict:
        deadline = time.monotonic() + timeout_s
        while (job := self.job(job_id))["state"] not in until:
            assert time.monotonic() < deadline, f"job still {job['state']} after {timeout_s}s: {job}"
            time.sleep(0.02)
        return job

    def built(self, data: dict) -> dict:
        """Submit ``data`` and wait for its build to end."""
        reply = self.build(data)
        assert reply.status_code == 202, reply.text
        return self.wait(reply.json()["id"])


@pytest.fixture
def open_share(tmp_path):
    """Opens a studio app on a folder (default: tmp_path/shared) with a builder (default: a FakeBuilder)."""
    opened: list[tuple[Studio, object]] = []

    def open_(builder=None, folder: Path | None = None) -> Share:
        folder = folder or tmp_path / "shared"
        folder.mkdir(parents=True, exist_ok=True)
        builder = builder if builder is not None else FakeBuilder()
        studio = Studio(folder, builder)
        opened.append((studio, builder))
        return Share(folder, builder, studio, TestClient(make_app(folder, TOKEN, studio=studio)))

    yield open_
    for studio, builder in opened:
        for gate in ("gate", "release"):
            if hasattr(builder, gate):
                getattr(builder, gate).set()
        studio.close(timeout_s=5)


# The plan: one source of truth


def test_plan_grows_by_twice_the_hold_change_on_a_two_sided_stretch(open_share):
    """The total shown on the phone follows each hold: both sides count, a one-sided stretch counts once."""
    share = open_share()
    base = share.plan(form([stretch("hamstring", 20), stretch("butterfly", 30)]))
    longer_both = share.plan(form([stretch("hamstring", 27), stretch("butterfly", 30)]))
    longer_once = share.plan(form([stretch("hamstring", 20), stretch("butterfly", 37)]))
    assert base.status_code == longer_both.status_code == longer_once.status_code == 200
    assert longer_both.json()["duration_ms"] - base.json()["duration_ms"] == 2 * 7_000
    assert longer_once.json()["duration_ms"] - base.json()["duration_ms"] == 7_000
    assert longer_both.json()["stretches"] == [
        {"id": "hamstring", "hold_ms": 27_000, "sides": "both"},
        {"id": "butterfly", "hold_ms": 30_000, "sides": "none"},
    ]


def test_plan_equals_the_library_plan_of_the_saved_routine_file(open_share):
    """The plan endpoint, the routine built and the file saved beside it are one routine, planned one way."""
    share = open_share()
    settings = {"guidance": "full", "pace": "brisk"}  # not bed-back's own, so they must be carried through
    data = form([stretch("piriformis", 25, rest=7), stretch("hamstring", 12, sides="none")], title="Plan check", settings=settings)
    planned = share.plan(data).json()
    job = share.built(data)
    assert job["state"] == "done", job

    saved = share.folder / f"{job['routine_id']}.toml"
    assert saved.read_text().startswith(STUDIO_HEADER.format(name=job["routine_id"]))
    loaded = load_routine(saved)
    settings = resolve_settings(loaded.settings)
    assert planned["duration_ms"] == voiceroutine.plan(loaded, settings, cached_lengths(loaded, settings, PhraseCache())).duration_ms
    built = share.builder.routines[0]
    assert built.stretches == loaded.stretches
    assert dict(built.settings) == dict(loaded.settings)
    assert (loaded.settings["guidance"], loaded.settings["pace"]) == ("full", "brisk")
    assert [(s.id, s.hold_ms, s.rest_ms, s.sides) for s in loaded.stretches] == [
        ("piriformis", 25_000, 7_000, "both"),
        ("hamstring", 12_000, 10_000, "none"),
    ]


# Bad forms: the loader's checks, named by field, and nothing built


BAD_FORMS = {
    "hold 0": (form([stretch("hamstring"), stretch("butterfly", 0)]), "stretch[2].hold"),
    "hold 601": (form([stretch("hamstring"), stretch("butterfly", 601)]), "stretch[2].hold"),
    "hold banana": (form([stretch("hamstring"), stretch("butterfly", "banana")]), "stretch[2].hold"),
    "sides sideways": (form([stretch("hamstring"), stretch("butterfly", sides="sideways")]), "stretch[2].sides"),
    "rest -1": (form([stretch("hamstring"), stretch("butterfly", rest=-1)]), "stretch[2].rest"),
    "unknown stretch": (form([stretch("hamstring"), stretch("cartwheel")]), "stretch[2].id"),
    "no stretches": (form([]), "stretches"),
    "unknown base": (form(base="nope"), "base"),
    "relative path base": (form(base="../../etc/passwd"), "base"),
    "absolute path base": (form(base="/etc/passwd"), "base"),
    "guidance loud": (form(settings={"guidance": "loud"}), "settings.guidance"),
    "engine nope": (form(settings={"engine": "nope"}), "settings.engine"),
    "title too long": (form(title="x" * 81), "title"),
    # Settings that name files on the serving computer would let the page probe for them.
    "cover path": (form(settings={"cover": "/etc/passwd"}), "settings.cover"),
    "chime path": (form(settings={"start_chime": "/etc/hostname"}), "settings.start_chime"),
    "loudness": (form(settings={"loudness": -20}), "settings.loudness"),
    "a list": ([form()], "expected a JSON object"),
    "a string": ("form", "expected a JSON object"),
}


@pytest.mark.parametrize(
    "raw, field",
    [(json.dumps(data), field) for data, field in BAD_FORMS.values()] + [("{'base': 'bed-back'", "not valid JSON")],
    ids=[*BAD_FORMS, "invalid JSON"],
)
def test_bad_form_is_refused_naming_the_field_and_nothing_is_built(open_share, raw, field):
    """Every refusal is a 400 whose message starts with the field (the page marks that row), and writes nothing."""
    share = open_share()
    for reply in (share.build(raw), share.plan(raw)):
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"].startswith(field), reply.json()
    assert files_in(share.folder) == {}
    # Builds run in order: once a good one is done, any wrongly accepted one would have run before it.
    assert share.built(form(title="Good one"))["state"] == "done"
    assert share.builder.built == ["good-one"]


def test_titles_like_paths_make_safe_files_inside_the_folder_only(open_share, tmp_path):
    """A title is only ever a slug: no file lands outside the shared folder, every name is plain."""
    folder = tmp_path / "a" / "b" / "shared"
    share = open_share(folder=folder)
    for title in ("../../evil", "a/b\\c", "..", "/etc/cron.d/x", "~root", "C:\\Windows\\x"):
        job = share.built(form(title=title))
        assert job["state"] == "done", job
        assert re.fullmatch(r"[a-z0-9-]+", job["routine_id"]), job
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and folder not in p.parents]
    assert outside == []
    names = sorted(files_in(folder))
    assert {"evil.toml", "a-b-c.toml"} <= set(names)
    assert [n for n in names if not SAFE_NAME.match(n)] == []
    assert all(out.parent == folder for out in share.builder.outputs)


def test_titles_in_other_languages_name_files_by_their_words(open_share):
    """Accents are transliterated (côté: cote), other scripts romanised; the title itself stays as typed."""
    share = open_share()
    expected = {"Étirement du côté": "etirement-du-cote", "Große Dehnung": "grosse-dehnung", "Mañana, niño": "manana-nino", "Утро": "utro"}
    for title, name in expected.items():
        job = share.built(form(title=title))
        assert (job["state"], job["routine_id"]) == ("done", name), job
        assert load_routine(share.folder / f"{name}.toml").title == title
    emoji = share.built(form(title="🧘"))
    assert emoji["state"] == "done" and re.fullmatch(r"my-routine-[0-9a-f]{8}", emoji["routine_id"]), emoji
    names = set(files_in(share.folder))
    assert {f"{name}.{ext}" for name in expected.values() for ext in ("mp3", "toml")} <= names
    assert [n for n in names if not SAFE_NAME.match(n)] == []


# The build endpoint's HTTP rules


def test_build_takes_only_json(open_share):
    """A form that is not application/json is refused with 415 before anything is queued."""
    share = open_share()
    body = json.dumps(form())
    for headers in ({"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}, {}):
        reply = share.client.post(share.url("studio/build"), content=body, headers=headers)
        assert reply.status_code == 415, (headers, reply.text)
        assert "application/json" in reply.json()["error"]
    ok = share.client.post(share.url("studio/build"), content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 202, ok.text
    share.wait(ok.json()["id"])
    assert share.builder.built == ["morning"]


def test_forms_over_16_kib_are_refused(open_share):
    """A body or plan query over 16 KiB is a 413, and nothing is built."""
    share = open_share()
    big = json.dumps(form() | {"padding": "x" * MAX_FORM_BYTES})
    assert len(big) > MAX_FORM_BYTES
    reply = share.build(big)
    assert reply.status_code == 413, reply.text
    assert "too large" in reply.json()["error"]
    assert share.plan(big).status_code == 413
    assert files_in(share.folder) == {}
    assert share.builder.built == []


def test_wrong_methods_are_405(open_share):
    """Starting a build is POST only, and the plan is GET only."""
    share = open_share()
    assert share.client.get(share.url("studio/build")).status_code == 405
    assert share.client.post(share.url("studio/plan"), json=form()).status_code == 405
    assert share.builder.built == []


@pytest.mark.parametrize("prefix", ["", "/wrong-token", f"/{TOKEN}x", f"/{TOKEN[:-1]}"])
def test_studio_endpoints_need_the_token(open_share, prefix):
    """Without the exact token every studio endpoint is a plain 404, and nothing is built."""
    share = open_share()
    job = share.built(form(title="Known"))
    query = {"form": json.dumps(form())}
    replies = [
        share.client.get(f"{prefix}/studio/options"),
        share.client.get(f"{prefix}/studio/plan", params=query),
        share.client.post(f"{prefix}/studio/build", json=form(title="Sneaky")),
        share.client.get(f"{prefix}/studio/jobs/{job['id']}"),
    ]
    assert [r.status_code for r in replies] == [404] * 4
    assert share.builder.built == ["known"]
    assert not any(name.startswith("sneaky") for name in files_in(share.folder))


def test_unknown_job_is_404(open_share):
    """Asking after a build that does not exist is a 404 with a message, not a crash."""
    share = open_share()
    reply = share.client.get(share.url("studio/jobs/no-such-job"))
    assert reply.status_code == 404
    assert reply.json() == {"error": "no such build"}


# The queue


def fill_queue(share: Share) -> tuple[dict, list[dict]]:
    """Start one held build and wait until it runs; return it and the jobs of MAX_WAITING more submitted behind it."""
    first = share.build(form(title="Build 0"))
    assert first.status_code == 202, first.text
    share.wait(first.json()["id"], until=("running",))
    waiting = []
    for n in range(1, MAX_WAITING + 1):
        reply = share.build(form(title=f"Build {n}"))
        assert reply.status_code == 202, (n, reply.text)
        waiting.append(reply.json())
    return first.json(), waiting


def test_busy_once_max_waiting_builds_wait_behind_the_running_one(open_share):
    """With one build running and MAX_WAITING waiting, the next is refused with 503, Retry-After and "busy"."""
    share = open_share(FakeBuilder(held=True))
    fill_queue(share)
    reply = share.build(form(title="One too many"))
    assert reply.status_code == 503, f"accepted a build beyond MAX_WAITING={MAX_WAITING}: {reply.status_code} {reply.text}"
    assert reply.headers["retry-after"].isdigit()
    assert "busy" in reply.json()["error"]


def test_accepted_builds_all_finish_in_order_one_at_a_time(open_share):
    """However many the queue takes, the overflow hears "busy" and every accepted build runs, alone, in order."""
    share = open_share(FakeBuilder(held=True))
    first, waiting = fill_queue(share)
    accepted = [first, *waiting]
    for n in range(MAX_WAITING + 1, MAX_WAITING + 10):
        reply = share.build(form(title=f"Build {n}"))
        if reply.status_code != 202:
            break
        accepted.append(reply.json())
    assert reply.status_code == 503, reply.text
    assert reply.headers["retry-after"].isdigit()
    assert "busy" in reply.json()["error"]
    assert share.job(first["id"])["state"] == "running"
    assert [share.job(j["id"])["state"] for j in accepted[1:]] == ["queued"] * (len(accepted) - 1)

    share.builder.gate.set()
    finished = [share.wait(j["id"]) for j in accepted]
    assert [j["state"] for j in finished] == ["done"] * len(accepted)
    names = [f"build-{n}" for n in range(len(accepted))]
    assert [j["routine_id"] for j in finished] == names
    assert share.builder.built == names
    assert share.builder.most_at_once == 1
    # Room again once the queue has drained.
    assert share.build(form(title="Later")).status_code == 202


def test_failed_builds_say_why_and_the_next_build_still_runs(open_share):
    """A library error fails the job with its own message, anything else fails it too; neither saves a routine file."""
    builder = FakeBuilder(fail={"known": SynthesisError("espeak-ng is not installed"), "odd": RuntimeError("disk on fire")})
    share = open_share(builder)
    known = share.built(form(title="Known"))
    odd = share.built(form(title="Odd"))
    after = share.built(form(title="After"))
    assert (known["state"], known["error"]) == ("failed", "espeak-ng is not installed")
    assert odd["state"] == "failed" and "disk on fire" in odd["error"], odd
    assert after["state"] == "done" and after["error"] == ""
    assert not (share.folder / "known.toml").exists() and not (share.folder / "odd.toml").exists()
    assert (share.folder / "after.toml").is_file()


# Names: never another's files


def test_user_routine_file_of_the_same_name_is_never_overwritten(open_share, tmp_path):
    """A routine file the user wrote (no studio header) keeps its name; the studio picks name-2."""
    folder = tmp_path / "shared"
    folder.mkdir()
    user_text = read_routine_text("bed-back").text
    (folder / "bed-back.toml").write_text(user_text)
    share = open_share(folder=folder)
    job = share.built(form(title="Bed back"))
    assert job["routine_id"] == "bed-back-2", job
    assert (folder / "bed-back.toml").read_text() == user_text
    assert (folder / "bed-back-2.toml").read_text().startswith(STUDIO_HEADER.format(name="bed-back-2"))
    assert share.builder.outputs == [folder / "bed-back-2.mp3"]


def test_cli_build_of_the_same_name_is_never_overwritten(open_share, tmp_path):
    """Audio built from the command line (no routine file beside it) keeps its name; the studio picks name-2."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "x.mp3").write_bytes(b"ID3 cli build")
    (folder / "x.json").write_text('{"cli": true}')
    share = open_share(folder=folder)
    job = share.built(form(title="X"))
    assert job["routine_id"] == "x-2", job
    assert (folder / "x.mp3").read_bytes() == b"ID3 cli build"
    assert (folder / "x.json").read_text() == '{"cli": true}'
    assert (folder / "x-2.mp3").is_file()


def test_studio_replaces_its_own_earlier_build_of_the_same_title(open_share):
    """Building a title again remakes the studio's own files under the same name, with the new holds."""
    share = open_share()
    first = share.built(form([stretch("hamstring", 20)], title="Mine"))
    again = share.built(form([stretch("hamstring", 25)], title="Mine"))
    assert first["routine_id"] == again["routine_id"] == "mine"
    assert [s.hold_ms for s in load_routine(share.folder / "mine.toml").stretches] == [25_000]
    assert "[25000]" in (share.folder / "mine.mp3").read_text()
    assert sorted(files_in(share.folder)) == ["mine.json", "mine.lrc", "mine.mp3", "mine.toml", "mine.vtt"]


# Stopping


class PausingToneBuilder:
    """The real pipeline with the tone engine; once armed, it pauses at its first "Encoding" report until released."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.armed = False
        self.paused = threading.Event()
        self.release = threading.Event()

    def __call__(self, routine, output: Path, progress) -> None:
        def report(stage: str, done: int, total: int) -> None:
            if self.armed and stage == "Encoding" and not self.paused.is_set():
                self.paused.set()
                self.release.wait(30)
            progress(stage, done, total)

        settings = resolve_settings(routine.settings)
        voiceroutine.build(routine, settings, output, engine=self.engine, progress=report, jobs=1)


def test_close_during_a_build_cancels_it_and_leaves_the_previous_files(open_share, tone_engine, tmp_path):
    """Stopping the share mid-build fails the build at its next report; the earlier build's files are untouched."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "short.toml").write_text(SHORT_ROUTINE)
    builder = PausingToneBuilder(tone_engine)
    share = open_share(builder, folder=folder)
    data = form([stretch("knee-hug", 3, rest=1), stretch("butterfly", 2)], base="short.toml", title="Evening")
    assert share.built(data)["state"] == "done"
    before = files_in(folder)
    assert {"evening.mp3", "evening.json", "evening.lrc", "evening.toml", "short.toml"} <= set(before)

    builder.armed = True
    reply = share.build(form([stretch("knee-hug", 4)], base="short.toml", title="Evening"))
    assert builder.paused.wait(30), "the build never reached encoding"
    assert any(name.endswith(".part") for name in files_in(share.folder)), "no partial file to clean up"
    share.studio.close(timeout_s=0.2)  # the build is held, so this returns with it still running
    builder.release.set()
    job = share.wait(reply.json()["id"], timeout_s=30)
    assert job["state"] == "failed" and "stopped" in job["error"], job
    assert files_in(share.folder) == before
    assert sorted(p.name for p in share.folder.iterdir()) == sorted(before)


# Options and the page


def test_only_valid_routine_files_are_offered_as_bases(open_share, tmp_path):
    """Broken routine files in the folder are left out; valid ones are offered under their file name."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "good.toml").write_text(SHORT_ROUTINE)
    (folder / "zero-hold.toml").write_text(SHORT_ROUTINE.replace('hold = "3s"', 'hold = "0s"'))
    (folder / "garbage.toml").write_text("[[[ not toml")
    (folder / "empty.toml").write_text("")
    (folder / "notes.txt").write_text(SHORT_ROUTINE)
    share = open_share(folder=folder)
    bases = share.client.get(share.url("studio/options")).json()["bases"]
    assert [b["key"] for b in bases] == [*builtin_ids(), "good.toml"]
    good = bases[-1]
    assert "good.toml" in good["label"]
    assert [(s["id"], s["hold_s"], s["sides"]) for s in good["stretches"]] == [("knee-hug", 3.0, "both"), ("butterfly", 2.5, "none")]

    planned = share.plan(form([stretch("butterfly", 5)], base="good.toml"))
    assert planned.status_code == 200 and planned.json()["stretches"][0]["hold_ms"] == 5_000
    refused = share.plan(form([stretch("knee-hug", 5)], base="zero-hold.toml"))
    assert refused.status_code == 400 and refused.json()["error"].startswith("base")


def test_options_offer_bed_back_and_pyttsx3_voices(open_share):
    """The form can start from bed-back with its five stretches and speak with pyttsx3's voices."""
    share = open_share()
    options = share.client.get(share.url("studio/options")).json()
    bed_back = next(b for b in options["bases"] if b["key"] == "bed-back")
    assert [s["id"] for s in bed_back["stretches"]] == BED_BACK_IDS
    assert all(s["hold_s"] == 30.0 for s in bed_back["stretches"])
    voices = options["engines"]["pyttsx3"]
    assert voices and all(v["id"] and v["name"] for v in voices)
    assert options["guidance"] == ["minimal", "standard", "full"]
    assert set(options["sides"]) == {"both", "none"}


def test_without_studio_there_is_no_form_and_no_endpoint(open_share, tmp_path):
    """Plain `share` serves no studio endpoints and no form; `share --studio` shows the form."""
    folder = tmp_path / "plain"
    folder.mkdir()
    plain = TestClient(make_app(folder, TOKEN))
    page = plain.get(f"/{TOKEN}/")
    assert page.status_code == 200 and "studio-form" not in page.text
    replies = [
        plain.get(f"/{TOKEN}/studio/options"),
        plain.get(f"/{TOKEN}/studio/plan", params={"form": json.dumps(form())}),
        plain.post(f"/{TOKEN}/studio/build", json=form()),
        plain.get(f"/{TOKEN}/studio/jobs/anything"),
    ]
    assert [r.status_code for r in replies] == [404] * 4
    assert files_in(folder) == {}

    share = open_share()
    assert 'id="studio-form"' in share.client.get(share.url("")).text


# End to end


@pytest.mark.integration
def test_studio_builds_a_real_routine_with_pyttsx3(open_share):
    """A form with two holds becomes a playable MP3, its manifest and a routine file that rebuilds it."""
    share = open_share(build_with_library)
    data = form([stretch("hamstring", 3), stretch("piriformis", 4)], title="Quick test")
    planned = share.plan(data).json()
    reply = share.build(data)
    assert reply.status_code == 202, reply.text
    job = share.wait(reply.json()["id"], timeout_s=120)
    assert job["state"] == "done", job
    name = job["routine_id"]
    assert name == "quick-test"

    audio = share.folder / f"{name}.mp3"
    manifest = read_manifest(audio)
    samples = decode(audio)
    assert abs(len(samples) * 1000 / RATE - manifest["audio"]["duration_ms"]) <= 50
    assert [(s["id"], s["hold_ms"]) for s in manifest["routine"]["stretches"]] == [("hamstring", 3000), ("piriformis", 4000)]
    assert manifest["settings"]["guidance"] == "minimal"

    saved = share.folder / f"{name}.toml"
    assert saved.read_text().startswith(STUDIO_HEADER.format(name=name))
    loaded = load_routine(saved)
    assert [(s.id, s.hold_ms) for s in loaded.stretches] == [("hamstring", 3000), ("piriformis", 4000)]
    # Before the build the total was within 2% (or exact, if the phrases were cached); once built,
    # the studio's plan and the library's, from the phrase cache, are the build's own timeline.
    assert abs(planned["duration_ms"] - manifest["audio"]["duration_ms"]) <= 0.02 * manifest["audio"]["duration_ms"]
    settings = resolve_settings(loaded.settings)
    script = voiceroutine.plan(loaded, settings, cached_lengths(loaded, settings, PhraseCache()))
    assert script.duration_ms == share.plan(data).json()["duration_ms"] == manifest["audio"]["duration_ms"]
    assert [c.title for c in script.chapters] == [c["title"] for c in manifest["chapters"]]
    assert [e.to_dict() for e in script.events] == manifest["events"]
    assert sorted(p.name for p in share.folder.iterdir() if not SAFE_NAME.match(p.name)) == []
    assert "Quick test" in share.client.get(share.url("")).text
