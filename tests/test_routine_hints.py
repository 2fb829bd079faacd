"""The usual slips in a routine file get a plain hint naming the file and field, not TOML's own words."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voiceroutine.cli import cli

from conftest import one_line_error

HEAD = '[routine]\ntitle = "Mine"\n'
STRETCH = '[[stretch]]\nid = "{id}"\nname = "A"\nsteps = ["s"]\n'


@pytest.mark.parametrize(
    "text, expected",
    [
        (HEAD + '[defaults]\nhold = 20s   # each side\n' + STRETCH.format(id="a"), 'mine.toml: defaults.hold: durations go in quotes: hold = "20s" (line 4)'),
        (HEAD + STRETCH.format(id="a") + STRETCH.format(id="b") + "rest = 1m30s\n", 'mine.toml: stretch[2].rest: durations go in quotes: rest = "1m30s" (line 11)'),
        (HEAD + STRETCH.format(id="a") + "hold = 1.5m\n", 'mine.toml: stretch[1].hold: durations go in quotes: hold = "1.5m" (line 7)'),
        (HEAD + '[settings]\ntime_left = [30s, "10s"]\n' + STRETCH.format(id="a"), 'mine.toml: settings.time_left: durations go in quotes: time_left = ["30s", "10s"] (line 4)'),
        (HEAD + '[settings]\nfade = 3s\n' + STRETCH.format(id="a"), 'mine.toml: settings.fade: durations go in quotes: fade = "3s" (line 4)'),
        (HEAD + STRETCH.format(id="a").replace("[[stretch]]", "[stretch]"), "mine.toml: stretch: each stretch starts with [[stretch]], in double brackets, not [stretch]"),
        (HEAD + (STRETCH.format(id="a") + STRETCH.format(id="b")).replace("[[stretch]]", "[stretch]"), "mine.toml: stretch: each stretch starts with [[stretch]]"),
        (HEAD + STRETCH.format(id="a") + STRETCH.format(id="b").replace("[[stretch]]", "[stretch]"), "mine.toml: stretch: each stretch starts with [[stretch]]"),
        (HEAD + STRETCH.format(id="a").replace("[[stretch]]", "[stretch]") + STRETCH.format(id="b"), "mine.toml: stretch: each stretch starts with [[stretch]]"),
    ],
)
def test_a_slip_gets_a_hint_naming_file_and_field(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text(text)
    for command in ("validate", "build"):
        line = one_line_error(CliRunner().invoke(cli, [command, "mine.toml"]), 2)
        assert line.startswith(f"Error: {expected}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "[defaults]\nhold = twenty\n" + STRETCH.format(id="a"),  # not a duration: TOML's own words
        HEAD + 'intro = "x" y\n' + STRETCH.format(id="a"),
    ],
)
def test_other_toml_errors_keep_tomls_message(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text(text)
    line = one_line_error(CliRunner().invoke(cli, ["validate", "mine.toml"]), 2)
    assert line.startswith("Error: mine.toml: invalid TOML: ")
