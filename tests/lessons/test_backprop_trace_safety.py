"""The tracer reads files users were sent: nothing in a network file may write outside --out, hang,
or end in a traceback (issue 13.1, 13.3, 13.8)."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from backproplab.cli import main
from backproplab.errors import InputError
from backproplab.lessons import backprop_trace as bp

pytestmark = pytest.mark.lessons


def course_dict() -> dict:
    return yaml.safe_load(bp.examples()["course"].read_text(encoding="utf-8"))


def alias_bomb(key: str) -> str:
    """About 420 bytes of YAML whose ``key`` expands to 9**9 (387 million) strings: nested aliases."""
    levels = ['&a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    body = "[" + ", ".join(levels) + "]"
    rest = {"description": "d", "input": "[1.0, 2.0]", "layers": "[]"}
    rest[key] = body
    return "".join(f"{k}: {v}\n" for k, v in rest.items()) + "target: [1.0]\n"


def deep(kind: str, depth: int = 100_000) -> str:
    nested = "[" * depth + "]" * depth
    if kind == "json":
        return f'{{"input": {nested}, "target": [1.0], "layers": []}}'
    return f"input: {nested}\ntarget: [1.0]\nlayers: []\n"


def _hashes(root: Path, skip: Path) -> dict[str, str]:
    """sha256 of every file below ``root``, except below ``skip``."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and skip not in path.parents:
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_name_cannot_write_outside_out(tmp_path: Path, capsys) -> None:
    around = tmp_path / "home"
    (around / "pictures").mkdir(parents=True)
    (around / "victim.png").write_bytes(b"the user's picture")
    (around / "pictures" / "holiday.png").write_bytes(b"another picture")
    out = around / "report" / "out"
    data = course_dict()
    data["name"] = f"a/../../../../../{around}/victim"
    net = around / "net.json"
    net.write_text(json.dumps(data))
    before = _hashes(tmp_path, out)
    assert main(["backprop", str(net), "--out", str(out)]) == 0
    assert _hashes(tmp_path, out) == before  # nothing outside --out changed, nothing appeared
    safe = bp.slug(data["name"])
    assert re.fullmatch(r"[a-z0-9_-]{1,40}", safe) and safe.startswith("a-"), safe
    assert sorted(p.name for p in out.iterdir()) == [f"backprop_{safe}.png", "backprop_trace.md"]
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "expected"), [
    ("course", "course"),
    ("a/../../../etc/victim", "a-etc-victim"),
    ("My Net (v2)", "my-net-v2"),
    ("../..", "network"),
    ("ÄÖÜ", "network"),
    ("x" * 300, "x" * 40),
    ("cost $a$", "cost-a"),
])
def test_slug(name: str, expected: str) -> None:
    assert bp.slug(name) == expected


@pytest.mark.parametrize("name", ["x" * 300, "costs $a$ and $b$", r"$\frac{1}{0$"])
def test_long_and_dollar_names_trace_and_save(tmp_path: Path, name: str) -> None:
    data = course_dict()
    data["name"] = name
    net = bp.network_from_dict(data, source="net.yaml")
    path = tmp_path / "net.json"
    path.write_text(json.dumps(data))
    res = bp.run(network=path, out=tmp_path / "out")
    try:
        saved = res.save_figures(tmp_path / "out")
        assert len(saved) == 1
        (png,) = saved.values()
        assert png.parent == tmp_path / "out" and png.stat().st_size > 1000 and len(png.name) <= 60
        fig = next(iter(res.figures.values()))
        title = fig.axes[0].get_title()
        assert title.startswith(name[:39])
    finally:
        res.close_figures()
    assert net.name == name


@pytest.mark.parametrize(("name", "char"), [("nul\0byte", r"'\x00'"), ("line\nbreak", r"'\n'"),
                                            ("bell\x07", r"'\x07'")])
def test_control_characters_in_name_are_refused(name: str, char: str) -> None:
    data = course_dict()
    data["name"] = name
    with pytest.raises(InputError, match="name: control character") as info:
        bp.network_from_dict(data, source="net.yaml")
    assert char in str(info.value)


@pytest.mark.parametrize("key", ["description", "input", "layers"])
def test_alias_bomb_is_refused_at_once(tmp_path: Path, key: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(key))
    assert len(path.read_bytes()) < 500
    with pytest.raises(InputError, match=r"not valid YAML at line \d+, column \d+: YAML anchors and aliases"):
        bp.load_network(path)


def test_a_single_harmless_alias_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "alias.yaml"
    text = bp.examples()["course"].read_text(encoding="utf-8")
    path.write_text(text.replace("biases: [0.1, -0.2, 0.5]", "biases: &b [0.1, -0.2, 0.5]"))
    assert "&b" in path.read_text()
    with pytest.raises(InputError, match="anchors and aliases"):
        bp.load_network(path)


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_deep_nesting_is_one_clear_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"deep.{kind}"
    path.write_text(deep(kind))
    with pytest.raises(InputError, match="nest|nesting") as info:
        bp.load_network(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300
    # below the parsers' limits the depth reaches validation, which quotes a bounded excerpt
    path.write_text(deep(kind, 17))  # 18 levels with the top mapping
    with pytest.raises(InputError, match="nest"):
        bp.load_network(path)
    path.write_text(deep(kind, 15))
    with pytest.raises(InputError, match=r"input\[0\]: expected a number") as info:
        bp.load_network(path)
    assert len(str(info.value)) < 200


def test_huge_integer_weight_names_the_field(tmp_path: Path) -> None:
    data = course_dict()
    data["layers"][0]["weights"][1][0] = 10 ** 400
    for suffix, text in ((".json", json.dumps(data)), (".yaml", yaml.safe_dump(data))):
        path = tmp_path / f"big{suffix}"
        path.write_text(text)
        with pytest.raises(InputError, match=r"layers\[0\]\.weights\[1\]\[0\]: expected a number that fits a "
                                             r"float .* integer of 401 digits"):
            bp.load_network(path)
    path = tmp_path / "huger.json"
    path.write_text(json.dumps(course_dict()).replace("0.5", "1" * 5000, 1))
    with pytest.raises(InputError, match="huger.json"):
        bp.load_network(path)


def test_messages_quote_a_bounded_excerpt() -> None:
    data = course_dict()
    data["description"] = [list(range(1000))] * 1000
    with pytest.raises(InputError) as info:
        bp.network_from_dict(data, source="net.yaml")
    assert "description: expected text" in str(info.value) and len(str(info.value)) < 200
    data = course_dict()
    data["loss"] = "x" * 100_000
    with pytest.raises(InputError) as info:
        bp.network_from_dict(data, source="net.yaml")
    assert len(str(info.value)) < 300
    data = course_dict()
    data[("k" * 10_000)] = 1
    with pytest.raises(InputError, match="unknown key") as info:
        bp.network_from_dict(data, source="net.yaml")
    assert len(str(info.value)) < 300


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as a memory bound is Linux-specific")
@pytest.mark.parametrize(("file_name", "make"), [
    ("bomb-description.yaml", lambda: alias_bomb("description")),
    ("bomb-input.yaml", lambda: alias_bomb("input")),
    ("bomb-layers.yaml", lambda: alias_bomb("layers")),
    ("deep.json", lambda: deep("json")),
    ("deep.yaml", lambda: deep("yaml")),
])
def test_cli_in_a_subprocess_with_1gb_and_10s(tmp_path: Path, file_name: str, make, limited_cli) -> None:
    """Each file in its own process under 1 GiB of address space and 10 s of CPU (tests/conftest.py)."""
    path = tmp_path / file_name
    path.write_text(make())
    status, stderr = limited_cli(["backprop", path, "--out", tmp_path / "out"], tmp_path)
    assert status == 2, stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    assert stderr.startswith("backproplab: error: network file") and file_name in stderr
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path: Path, capsys) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    for out, words in ((afile, "is a file"), (afile / "sub", "lies below the file")):
        assert main(["backprop", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and words in err and "out" in err, err
    assert afile.read_text() == "mine"


# -- numbers as YAML 1.2 reads them; keys written twice ---------------------------------------------

COURSE_WEIGHT_LINE = "- [0.5, -0.4]  "


@pytest.mark.parametrize("spelling, value", [
    ("1e3", 1000.0), ("1.0e3", 1000.0), ("2E2", 200.0), ("1e-3", 0.001), (".5", 0.5), ("1.0e+3", 1000.0),
    ("-1e3", -1000.0), ("+2.5E-2", 0.025), ("5.", 5.0), ("3", 3.0),
    # YAML 1.1 read 010 as octal 8 (a silent wrong trace); 1.2 has decimal, 0o and 0x integers
    ("010", 10.0), ("-007", -7.0), ("0o10", 8.0), ("0x10", 16.0),
])
def test_yaml_reads_yaml12_numbers(tmp_path: Path, spelling: str, value: float) -> None:
    """PyYAML alone (YAML 1.1) reads 1e3, 1.0e3 and 2E2 as text; the tracer reads them as numbers."""
    text = bp.examples()["course"].read_text(encoding="utf-8")
    assert COURSE_WEIGHT_LINE in text
    path = tmp_path / "net.yaml"
    path.write_text(text.replace(COURSE_WEIGHT_LINE, f"- [{spelling}, -0.4]  "))
    assert bp.load_network(path).layers[0].W[0, 0] == value
    assert bp.network_from_text(path.read_text()).layers[0].W[0, 0] == value


@pytest.mark.parametrize("spelling", ["2:30", "1_000", "1_0.5", "0b10"])
def test_yaml11_only_numbers_are_text(tmp_path: Path, spelling: str) -> None:
    """YAML 1.1's sexagesimal (2:30 was 150), underscored (1_000 was 1000) and binary numbers are text in YAML
    1.2: a clear error, not a silent wrong trace."""
    text = bp.examples()["course"].read_text(encoding="utf-8")
    path = tmp_path / "net.yaml"
    path.write_text(text.replace(COURSE_WEIGHT_LINE, f"- [{spelling}, -0.4]  "))
    with pytest.raises(InputError, match=rf"expected a number, got '{spelling}'"):
        bp.load_network(path)


def test_yaml12_numbers_leave_pyyaml_itself_unchanged() -> None:
    assert yaml.safe_load("a: 1e3")["a"] == "1e3"
    bp.network_from_text(bp.examples()["course"].read_text(encoding="utf-8"))  # the tracer's loader built
    assert yaml.safe_load("a: 1e3")["a"] == "1e3"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_quoted_number_is_text_and_the_hint_says_so(tmp_path: Path, suffix: str) -> None:
    data = course_dict()
    data["input"] = [2.0, "1e3"]
    path = tmp_path / f"net{suffix}"
    # (yaml.safe_dump would write '1e3' unquoted: to YAML 1.1 it is not a number)
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data).replace("- 1e3", "- '1e3'"))
    assert suffix == ".json" or "'1e3'" in path.read_text()
    with pytest.raises(InputError, match=r"input\[1\]: expected a number, got '1e3' \(a number in quotes is "
                                         r"text; write it without quotes\)"):
        bp.load_network(path)
    data["input"] = [2.0, "two"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        bp.load_network(path)
    assert "quotes" not in str(info.value)


DUPLICATES = {  # where the second key is written: (YAML text edit, line of the second key, JSON path)
    "target": ("target: [1.0]", "target: [1.0]\ntarget: [0.0]", "at the top level"),
    "activation": ("- activation: relu", "- activation: relu\n    activation: tanh", "in layers[0]"),
}


@pytest.mark.parametrize("key", sorted(DUPLICATES))
def test_a_key_written_twice_is_refused_yaml(tmp_path: Path, key: str) -> None:
    old, new, _ = DUPLICATES[key]
    text = bp.examples()["course"].read_text(encoding="utf-8")
    assert text.count(old) == 1
    text = text.replace(old, new)
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip().lstrip("- ").startswith(key))
    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=rf"net.yaml' is not valid YAML at line {first + 1}, column \d+: "
                                         rf"duplicate key '{key}' \(first at line {first}\)") as info:
        bp.load_network(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("key", sorted(DUPLICATES))
def test_a_key_written_twice_is_refused_json(tmp_path: Path, key: str) -> None:
    data = course_dict()
    text = json.dumps(data)
    if key == "target":
        text = text.replace('"target": [1.0]', '"target": [1.0], "target": [0.0]')
    else:
        text = text.replace('"activation": "relu"', '"activation": "relu", "activation": "tanh"')
    assert text != json.dumps(data)
    path = tmp_path / "net.json"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(f"net.json': duplicate key '{key}' {DUPLICATES[key][2]}")):
        bp.load_network(path)
    with pytest.raises(InputError, match="duplicate key"):
        bp.network_from_text(text, is_json=True)


def test_a_key_written_twice_deep_inside_is_refused() -> None:
    text = bp.examples()["course"].read_text(encoding="utf-8")
    text = text.replace("{to: 3, from: 2, expected", "{to: 3, from: 2, to: 4, expected")
    with pytest.raises(InputError, match=r"line 31, column 22: duplicate key 'to' \(first at line 31\)"):
        bp.network_from_text(text)
    with pytest.raises(InputError, match=r"duplicate key 'x' in ask\[0\]\.y"):
        bp.network_from_text('{"ask": [{"y": {"x": 1, "x": 2}}]}', is_json=True)


def test_yaml_merge_keys_are_refused() -> None:
    text = bp.examples()["course"].read_text(encoding="utf-8") + "<<: {target: [0.0]}\n"
    with pytest.raises(InputError, match=r"merge keys \(<<\) are not supported"):
        bp.network_from_text(text)


@pytest.mark.parametrize("file_name", ["backprop_trace.md", "backprop_course.png"])
def test_out_never_overwrites_the_network_file_itself(tmp_path: Path, capsys, file_name: str) -> None:
    """`backprop backprop_trace.md --out .` replaced the user's network with the trace it wrote."""
    net = tmp_path / file_name
    text = json.dumps(course_dict())
    net.write_text(text)
    assert main(["backprop", str(net), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"out: writing '{tmp_path / file_name}' would overwrite the network file '{net}'" in err
    assert len(err.strip().splitlines()) == 1
    assert net.read_text() == text and [p.name for p in tmp_path.iterdir()] == [file_name]


@pytest.mark.skipif(not Path("/proc/self/pagemap").is_file(), reason="needs Linux's /proc")
def test_a_file_whose_size_says_zero_is_read_only_to_the_bound(capsys) -> None:
    """/proc/self/pagemap says 0 bytes and holds gigabytes: it ended 'a file: Invalid argument'."""
    assert main(["backprop", "/proc/self/pagemap"]) == 2
    assert capsys.readouterr().err == ("backproplab: error: network file '/proc/self/pagemap' holds more than "
                                       f"{bp.MAX_FILE_BYTES} bytes; at most {bp.MAX_FILE_BYTES} are read\n")


def test_windows_line_ends_still_read(tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    net.write_bytes(yaml.safe_dump(course_dict()).replace("\n", "\r\n").encode())
    assert bp.load_network(net).name == "course"


def test_a_network_that_is_not_a_path_is_named() -> None:
    """run(network=5) was 'TypeError: expected str, bytes or os.PathLike object, not int'."""
    with pytest.raises(InputError, match="^network must be a path to a YAML or JSON file, got int$"):
        bp.run(network=5)
