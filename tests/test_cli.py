"""The command line: help, messages and exit statuses, with a stand-in engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceroutine import engines
from voiceroutine.cli import cli
from voiceroutine.errors import SynthesisError

from conftest import libraries_loaded, one_line_error

COMMANDS = ["build", "plan", "list", "init", "validate", "voices"]


@pytest.fixture
def run(tmp_path, monkeypatch, tone_engine):
    """Invoke the CLI in an empty folder, with the tone engine standing in for speech."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engines, "get_engine", lambda name: tone_engine)

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args))

    return invoke


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_has_help_with_an_example(run, command, flag):
    result = run(command, flag)
    assert result.exit_code == 0
    assert "Example" in result.output
    assert result.output.startswith("Usage: ")


def test_top_level_help_lists_every_command(run):
    result = run("-h")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def test_plan_prints_the_timeline_without_synthesis(run, tone_engine):
    result = run("plan", "--hold", "25s")
    assert result.exit_code == 0, result.output
    assert "== Hamstring stretch" in result.output
    assert result.output.count("hold   25s") == 9  # four stretches with two sides, one with none
    assert "say    Stretch one of five. Hamstring stretch." in result.output
    assert tone_engine.spoken == []


def test_plan_json_lists_events_and_chapters(run):
    result = run("plan", "--json", "--only", "butterfly", "--hold", "12s")
    data = json.loads(result.output)
    holds = [e for e in data["events"] if e["kind"] == "hold"]
    assert [(h["stretch"], h["side"], h["end_ms"] - h["start_ms"]) for h in holds] == [("butterfly", None, 12000)]
    assert [c["title"] for c in data["chapters"]] == ["Introduction", "Supine butterfly stretch", "Finish"]


def test_build_writes_audio_and_manifest_into_out(run, tmp_path):
    result = run("build", "--only", "butterfly", "--hold", "2s")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Wrote out/bed-back.mp3 (")
    assert "1 stretch, " in result.output
    manifest = json.loads((tmp_path / "out" / "bed-back.json").read_text())
    assert manifest["audio"]["file"] == "bed-back.mp3"
    assert (tmp_path / "out" / "bed-back.mp3").stat().st_size > 1000


def test_output_folder_and_format_from_extension(run, tmp_path):
    (tmp_path / "music").mkdir()
    assert run("build", "--only", "butterfly", "-o", "music").exit_code == 0
    assert (tmp_path / "music" / "bed-back.mp3").exists()
    assert run("build", "--only", "butterfly", "-o", "music/short.wav").exit_code == 0
    assert (tmp_path / "music" / "short.wav").read_bytes()[:4] == b"RIFF"
    assert json.loads((tmp_path / "music" / "short.json").read_text())["audio"]["format"] == "wav"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--hold", "thirty"], "--hold: expected a duration like"),
        (["--hold", "0.5s"], "--hold: 0.5s is out of range"),
        (["--hold-for", "nope=3s"], "--hold-for: no stretch 'nope' in bed-back"),
        (["--hold-for", "piriformis"], "--hold-for: expected ID=DURATION"),
        (["--only", "hamstrng"], "did you mean 'hamstring'?"),
        (["--skip", "hamstring,piriformis,hip-flexor,butterfly,prone-quad"], "--skip: no stretches left"),
        (["--sides", "left"], "Invalid value for '--sides'"),
        (["--format", "ogg"], "Invalid value for '--format'"),
        (["--reps", "0"], "--reps: 0 is out of range"),
        (["--rate", "5"], "--rate: 5 is out of range"),
        (["--bitrate", "65"], "Invalid value for '--bitrate'"),
        (["-o", "routine.ogg"], "--output: the file name must end in one of .mp3, .m4b, .opus, .wav"),
        (["-o", "x.wav", "--format", "mp3"], "--output: 'x.wav' does not match --format mp3"),
        (["--no-such-option"], "No such option"),
        (["--guidance", "chatty"], "Invalid value for '--guidance'"),
        (["--pace", "slow"], "Invalid value for '--pace'"),
        (["--chimes", "loud"], "Invalid value for '--chimes'"),
        (["--time-left", "10s,0.1s"], "--time-left: 0.1s is out of range (1s to 10m)"),
        (["--length", "ten minutes"], "--length: expected a duration like"),
        (["--length", "2m"], "--length: 2m is out of reach: with holds of 1s to 10m this routine lasts"),
        (["--fade", "45s"], "--fade: 45s is out of range (0s to 30s)"),
        (["--start-chime", "bell.wav"], "--start-chime: bell.wav: file not found"),
        (["--voice", ""], "--voice: must not be empty"),
        (["missing.toml"], "missing.toml: file not found"),
        (["nosuchroutine"], "nosuchroutine: no built-in routine or file of that name"),
    ],
)
def test_bad_options_get_one_line_and_status_2_and_write_nothing(run, tmp_path, args, expected):
    line = one_line_error(run("build", *args), 2)
    assert expected in line
    assert not (tmp_path / "out").exists()


def test_bad_routine_file_names_file_and_field(run, tmp_path):
    (tmp_path / "mine.toml").write_text('[routine]\ntitle = "x"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\nhold = "forever"\n')
    for command in ("build", "plan"):
        line = one_line_error(run(command, "mine.toml"), 2)
        assert line.startswith('Error: mine.toml: stretch[1].hold: expected a duration like "30s"')
    assert not (tmp_path / "out").exists()


def test_engine_failure_is_status_1_with_advice(run, tone_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "empty-cache"))
    def fail(text, voice, rate):
        raise SynthesisError("the speech engine could not start: install espeak-ng")

    monkeypatch.setattr(tone_engine, "synthesize", fail)
    line = one_line_error(run("build", "--only", "butterfly", "--jobs", "1"), 1)
    assert "install espeak-ng" in line
    assert not (tmp_path / "out").exists()


def test_list_shows_builtin_routines_and_stretches(run):
    result = run("list")
    assert result.exit_code == 0
    assert result.output.startswith("bed-back: Bed stretches for lower back pain")
    for stretch_id in ("hamstring", "piriformis", "hip-flexor", "butterfly", "prone-quad"):
        assert f"  {stretch_id} " in result.output


def test_init_writes_an_editable_copy_that_validates(run, tmp_path):
    result = run("init", "bed-back", "mine.toml")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mine.toml").read_text().startswith("# Five gentle stretches")
    result = run("validate", "mine.toml")
    assert result.exit_code == 0
    assert result.output.startswith("ok: mine.toml: Bed stretches for lower back pain (5 stretches, about ")


def test_init_defaults_to_bed_back_and_never_clobbers(run, tmp_path):
    assert run("init", "mine.toml").exit_code == 0
    (tmp_path / "mine.toml").write_text("# my edits\n")
    line = one_line_error(run("init", "mine.toml"), 2)
    assert "already exists" in line and "--force" in line
    assert (tmp_path / "mine.toml").read_text() == "# my edits\n"
    assert run("init", "--force", "mine.toml").exit_code == 0
    assert (tmp_path / "mine.toml").read_text().startswith("# Five gentle stretches")


def test_validate_reports_each_file_and_fails_on_any_error(run, tmp_path):
    (tmp_path / "good.toml").write_text('[routine]\ntitle = "Good"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\n')
    (tmp_path / "bad.toml").write_text('[routine]\ntitle = "Bad"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = []\n')
    result = run("validate", "good.toml", "bad.toml")
    assert result.exit_code == 2
    assert "ok: good.toml: Good (1 stretch, about " in result.output
    assert "Error: bad.toml: stretch[1].steps: expected 1 to 20 entries, got 0" in result.output


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "voiceroutine", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "0.1.0" in result.stdout


def test_plan_shows_cues_inside_holds_and_explains_dropped_ones(run):
    result = run("plan", "--guidance", "full", "--hold", "20s")
    assert result.exit_code == 0, result.output
    assert "  cue  Ten seconds left.  (time-left)" in result.output
    assert "  cue  Three.  (countdown)" in result.output
    assert "Cues left out (" in result.output
    assert "  cue  Halfway.  (halfway)" in result.output  # just before "Ten seconds left.", both ten seconds in
    assert "'Breathe in... and out.' (hamstring, left): no room between the other cues" in result.output


def test_plan_json_lists_dropped_cues(run):
    data = json.loads(run("plan", "--json", "--only", "butterfly", "--hold", "5s", "--time-left", "30s").output)
    assert data["dropped_cues"][0]["text"] == "Thirty seconds left."
    assert data["dropped_cues"][0]["reason"] == "the hold is only 5s"


def test_minimal_guidance_says_nothing_inside_holds(run):
    data = json.loads(run("plan", "--json", "--guidance", "minimal").output)
    assert not [e for e in data["events"] if e.get("cue")]
    assert data["dropped_cues"] == []


def test_length_fits_the_plan_to_the_target(run):
    data = json.loads(run("plan", "--json", "--length", "12m").output)
    assert abs(data["duration_ms"] - 720_000) <= 1000


def test_pace_changes_speech_rate_and_pauses(run):
    calm = json.loads(run("plan", "--json", "--pace", "calm").output)
    brisk = json.loads(run("plan", "--json", "--pace", "brisk").output)
    assert brisk["duration_ms"] < calm["duration_ms"]
    assert [h["end_ms"] - h["start_ms"] for h in brisk["events"] if h["kind"] == "hold"] == [
        h["end_ms"] - h["start_ms"] for h in calm["events"] if h["kind"] == "hold"
    ]


def test_routine_file_settings_apply_and_options_win(run, tmp_path):
    (tmp_path / "mine.toml").write_text(
        '[routine]\ntitle = "Mine"\n[settings]\nguidance = "minimal"\nchimes = "none"\n'
        '[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\n'
    )
    from_file = json.loads(run("plan", "--json", "mine.toml").output)
    assert "chime" not in {e["kind"] for e in from_file["events"]}
    assert [e["text"] for e in from_file["events"] if e.get("cue")] == ["Begin.", "Begin."]
    overridden = json.loads(run("plan", "--json", "mine.toml", "--chimes", "bright", "--guidance", "standard").output)
    assert "chime" in {e["kind"] for e in overridden["events"]}
    assert "Ten seconds left." in [e.get("text") for e in overridden["events"]]


def test_bad_setting_in_a_routine_file_names_the_field(run, tmp_path):
    (tmp_path / "mine.toml").write_text('[routine]\ntitle = "Mine"\n[settings]\npace = "sleepy"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\n')
    line = one_line_error(run("plan", "mine.toml"), 2)
    assert line == 'Error: mine.toml: settings.pace: expected one of "calm", "normal", "brisk", got the text \'sleepy\''


def test_chime_files_in_a_routine_are_found_beside_it(run, tmp_path):
    import wave

    folder = tmp_path / "routines"
    folder.mkdir()
    with wave.open(str(folder / "bell.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\1" * 2400)  # 300 ms
    body = '[routine]\ntitle = "Mine"\n[settings]\nstart_chime = "bell.wav"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\n'
    (folder / "mine.toml").write_text(body)
    data = json.loads(run("plan", "--json", "routines/mine.toml").output)
    assert {e["end_ms"] - e["start_ms"] for e in data["events"] if e.get("sound") == "start"} == {300}
    (folder / "bell.wav").unlink()
    line = one_line_error(run("plan", "routines/mine.toml"), 2)
    assert line.startswith("Error: routines/mine.toml: settings.start_chime: ") and "bell.wav: file not found" in line


@pytest.mark.parametrize("args", [["--help"], ["plan"], ["plan", "--json", "--hold", "20s"], ["validate", "bed-back"], ["list"]])
def test_quick_commands_load_no_audio_or_speech_library(args):
    """Start-up stays light: commands that make no audio import none of the audio, speech or server libraries."""
    heavy = {"pydub", "audioop", "pyttsx3", "piper", "onnxruntime", "mutagen", "PIL", "starlette", "uvicorn", "segno", "multiprocessing"}
    run = libraries_loaded(args, heavy)
    assert run.stderr.strip().splitlines()[-1] == "[]", run.stderr


def small_routine(folder, name: str, hold: str = "2s") -> str:
    (folder / f"{name}.toml").write_text(
        f'[routine]\nid = "{name}"\ntitle = "{name.title()}"\n[[stretch]]\nid = "a"\nname = "Knee hug"\nsteps = ["Hug a knee."]\nhold = "{hold}"\n'
    )
    return f"{name}.toml"


def test_batch_builds_every_good_routine_and_lists_each_failure(run, tmp_path):
    """One bad file does not stop the others: each is built, each failure is listed, and the status says so."""
    files = [small_routine(tmp_path, "monday"), small_routine(tmp_path, "tuesday", "3s")]
    (tmp_path / "broken.toml").write_text('[routine]\ntitle = "x"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\nhold = "0s"\n')
    result = run("build", files[0], "broken.toml", files[1], "-o", "week", "--jobs", "1")
    assert result.exit_code == 2, result.output
    assert "ok      monday.toml -> week/monday.mp3" in result.output
    assert "ok      tuesday.toml -> week/tuesday.mp3" in result.output
    assert "FAILED  broken.toml: stretch[1].hold: 0s is out of range" in result.output
    assert "Built 2 of 3 routines; 1 failed" in result.output
    assert sorted(p.name for p in (tmp_path / "week").glob("*.mp3")) == ["monday.mp3", "tuesday.mp3"]
    holds = json.loads((tmp_path / "week" / "tuesday.json").read_text())["routine"]["stretches"][0]["hold_ms"]
    assert holds == 3000


def test_batch_refuses_one_output_file_and_two_routines_of_one_id(run, tmp_path):
    """Several routines go into a folder, and two of one id would overwrite each other: both are refused."""
    first = small_routine(tmp_path, "monday")
    twin = tmp_path / "twin.toml"
    twin.write_text((tmp_path / first).read_text())
    refused = run("build", first, "twin.toml", "-o", "one.mp3")
    assert refused.exit_code == 2 and refused.output.strip().splitlines() == ["Error: --output: several routines go into a folder, not one file (one.mp3)"]
    result = run("build", first, "twin.toml", "--jobs", "1")
    assert result.exit_code == 2
    assert "FAILED  twin.toml: has the same id as monday.toml (monday); both would write out/monday.mp3" in result.output
    assert (tmp_path / "out" / "monday.mp3").is_file()


def test_batch_run_time_failures_exit_1(run, tone_engine, monkeypatch, tmp_path):
    """A routine that fails while building (not a wrong input) makes the whole run exit 1, after the others."""
    files = [small_routine(tmp_path, "monday"), small_routine(tmp_path, "tuesday")]
    speak = tone_engine.synthesize

    def fail_on_tuesday(text, voice, rate):
        if "Tuesday" in text:
            raise SynthesisError(f"the speech engine failed on {text!r}")
        return speak(text, voice, rate)

    monkeypatch.setattr(tone_engine, "synthesize", fail_on_tuesday)
    monkeypatch.setenv("VOICEROUTINE_CACHE", str(tmp_path / "empty-cache"))
    result = run("build", *files, "--jobs", "1")
    assert result.exit_code == 1, result.output
    assert "ok      monday.toml" in result.output
    assert "FAILED  tuesday.toml: the speech engine failed on 'Tuesday.'" in result.output


@pytest.mark.integration
def test_batch_builds_in_parallel_processes_sharing_the_cache(tmp_path, phrase_cache):
    """With --jobs 2 the routines are built by two worker processes with the real engine, into correct files."""
    from conftest import decode

    files = [small_routine(tmp_path, name, hold) for name, hold in (("monday", "2s"), ("tuesday", "3s"), ("wednesday", "4s"))]
    run = subprocess.run([sys.executable, "-m", "voiceroutine", "build", *files, "--jobs", "2"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Built 3 of 3 routines" in run.stdout
    for name, hold_ms in (("monday", 2000), ("tuesday", 3000), ("wednesday", 4000)):
        manifest = json.loads((tmp_path / "out" / f"{name}.json").read_text())
        assert manifest["routine"]["stretches"][0]["hold_ms"] == hold_ms
        assert len(decode(tmp_path / "out" / f"{name}.mp3")) / 44.1 == pytest.approx(manifest["audio"]["duration_ms"], abs=60)
    assert not list((tmp_path / "out").glob(".*"))


@pytest.mark.integration
def test_stopping_a_batch_leaves_earlier_files_and_no_temporary_ones(tmp_path):
    """SIGTERM during a parallel batch stops every worker; each removes its temporary files, earlier builds stay."""
    import signal
    import time

    files = [small_routine(tmp_path, name, "10m") for name in ("monday", "tuesday")]
    out = tmp_path / "out"
    out.mkdir()
    (out / "monday.mp3").write_bytes(b"last week's monday")
    process = subprocess.Popen([sys.executable, "-m", "voiceroutine", "build", *files, "--jobs", "2"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(out.glob(".*.part")) and time.monotonic() < deadline:  # both are encoding
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in out.iterdir()) == ["monday.mp3"]
    assert (out / "monday.mp3").read_bytes() == b"last week's monday"


def console_script(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """Run the installed `voiceroutine` command itself, as a user types it."""
    command = Path(sys.executable).parent / "voiceroutine"
    return subprocess.run([str(command), *args], capture_output=True, text=True, cwd=cwd)


def test_no_arguments_prints_the_help():
    """`voiceroutine` alone shows what it can do, on standard output, and succeeds (click 8.5 crashed here)."""
    result = console_script()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: voiceroutine [OPTIONS] COMMAND [ARGS]...")
    assert all(f"  {command} " in result.stdout for command in COMMANDS)
    assert result.stderr == ""
    cache = console_script("cache")
    assert cache.returncode == 0 and cache.stdout.startswith("Usage: voiceroutine cache [OPTIONS] COMMAND")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["build", "--bogus"], "Error: No such option"),
        (["--bogus"], "Error: No such option"),
        (["bogus"], "Error: No such command 'bogus'."),
        (["-v"], "Error: Missing command."),
        (["plan", "--hold"], "Error: Option '--hold' requires an argument."),
        (["plan", "--sides", "left"], "Error: Invalid value for '--sides'"),
        (["cache", "wipe"], "Error: No such command 'wipe'."),
    ],
)
def test_usage_errors_are_one_line_with_status_2(args, expected):
    result = console_script(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(expected), result.stderr


def test_init_gives_the_copy_the_id_of_its_file_name_and_keeps_the_rest(run, tmp_path):
    """The copy has no id line, so its id is its file name: building it writes out/<its name>.*,
    never over the built-in routine's files, and a copy of the copy gets its own name in turn."""
    from voiceroutine.routine import read_routine_text

    assert run("init", "bed-back", "My Mornings.toml").exit_code == 0
    original = read_routine_text("bed-back").text.splitlines()
    copy = (tmp_path / "My Mornings.toml").read_text().splitlines()
    assert [line for line in original if line not in copy] == ['id = "bed-back"'] and len(copy) == len(original) - 1
    result = run("build", "My Mornings.toml", "--only", "butterfly", "--hold", "2s")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mp3")) == ["my-mornings.mp3"]
    (tmp_path / "thursday.toml").write_text((tmp_path / "My Mornings.toml").read_text())
    assert json.loads(run("plan", "--json", "thursday.toml").output)["routine"]["id"] == "thursday"


def test_init_of_a_routine_file_without_an_id_keeps_it_without_one(run, tmp_path):
    (tmp_path / "plain.toml").write_text('[routine]  # mine\ntitle = "Plain"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\n')
    result = run("init", "plain.toml", "evening.toml")
    assert result.exit_code == 0, result.output
    assert "routine id evening" in result.output
    text = (tmp_path / "evening.toml").read_text()
    assert text == '[routine]  # mine\ntitle = "Plain"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = ["s"]\n'
    assert json.loads(run("plan", "--json", "evening.toml").output)["routine"]["id"] == "evening"


def test_init_refuses_a_broken_routine_and_writes_nothing(run, tmp_path):
    (tmp_path / "broken.toml").write_text('[routine]\ntitle = "x"\n[[stretch]]\nid = "a"\nname = "A"\nsteps = []\n')
    line = one_line_error(run("init", "broken.toml", "copy.toml"), 2)
    assert line.startswith("Error: broken.toml: stretch[1].steps:")
    assert not (tmp_path / "copy.toml").exists()


@pytest.mark.parametrize("output", ["notes.txt/x.mp3", "notes.txt/", "notes.txt/deeper/x.wav"])
def test_output_under_an_existing_file_is_refused_at_once(run, tmp_path, output):
    (tmp_path / "notes.txt").write_text("my notes\n")
    line = one_line_error(run("build", "--only", "butterfly", "-o", output), 2)
    assert line == f"Error: --output: notes.txt is a file, not a folder, so {output} cannot be written; choose another path"
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    batch = one_line_error(run("build", "bed-back", "bed-back", "-o", "notes.txt/"), 2)
    assert batch.startswith("Error: --output: notes.txt is a file, not a folder")


@pytest.mark.integration
def test_verbose_is_accepted_after_the_command_too(tmp_path):
    """`voiceroutine build -v` says more, as `voiceroutine -v build` does; without -v, only the summary."""
    args = ["--only", "butterfly", "--hold", "2s", "-o", "x.mp3"]
    quiet = console_script("build", *args, cwd=tmp_path)
    assert quiet.returncode == 0 and "INFO" not in quiet.stderr
    for verbose in (["build", "-v", *args], ["-v", "build", *args], ["build", *args, "--verbose"]):
        said = console_script(*verbose, cwd=tmp_path)
        assert said.returncode == 0, said.stderr
        assert "INFO: wrote x.mp3 and x.json" in said.stderr


def test_a_build_that_leaves_cues_out_says_so_and_how_to_see_them(run, tmp_path):
    result = run("build", "--only", "butterfly", "--hold", "5s", "--time-left", "30s,3s")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Wrote out/bed-back.mp3")
    dropped = json.loads((tmp_path / "out" / "bed-back.json").read_text())["dropped_cues"]
    command = "voiceroutine plan --hold 5s --only butterfly --time-left 30s,3s"
    assert lines[1] == f"{len(dropped)} cues left out: the holds are too short for them; see `{command}`"
    planned = json.loads(run(*command.split()[1:], "--json").output)["dropped_cues"]
    assert [d["text"] for d in planned] == [d["text"] for d in dropped] and dropped
    quiet = run("build", "--only", "butterfly", "--hold", "20s")
    assert quiet.exit_code == 0 and len(quiet.output.strip().splitlines()) == 1


def test_batch_lines_say_which_routines_left_cues_out(run, tmp_path):
    files = [small_routine(tmp_path, "monday", "3s"), small_routine(tmp_path, "tuesday", "40s")]
    result = run("build", *files, "--time-left", "5s", "--jobs", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    monday = lines.index(next(line for line in lines if line.startswith("ok      monday.toml")))
    assert lines[monday + 1] == "        2 cues left out: the holds are too short for them; see `voiceroutine plan monday.toml --time-left 5s`"
    tuesday = lines.index(next(line for line in lines if line.startswith("ok      tuesday.toml")))
    assert not lines[tuesday + 1].startswith("        ")


def test_a_build_says_what_of_the_earlier_build_of_its_name_it_removed(run, tmp_path):
    """Building an M4B after the MP3 of the same name replaces it; the summary says so, not only --verbose."""
    assert run("build", "--only", "butterfly", "--hold", "2s", "--split").exit_code == 0
    again = run("build", "--only", "butterfly", "--hold", "2s", "--format", "m4b", "--no-sidecars")
    assert again.exit_code == 0, again.output
    lines = again.output.splitlines()
    assert lines[0].startswith("Wrote out/bed-back.m4b")
    assert lines[1] == (
        "Removed what the earlier build of this name wrote and this one did not: "
        "out/bed-back-tracks/ (4 files), out/bed-back.lrc, out/bed-back.mp3, out/bed-back.vtt"
    )
    quiet = run("build", "--only", "butterfly", "--hold", "2s", "--format", "m4b", "--no-sidecars")
    assert "Removed" not in quiet.output  # nothing of its own name left to take away
