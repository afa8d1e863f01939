"""``backproplab data``: where each file is, its size, whether it verified; exit 1 when missing."""

from __future__ import annotations

import pytest

from backproplab.cli import main
from backproplab.data import fashion_mnist as fm

pytestmark = [pytest.mark.data, pytest.mark.cli]


def test_data_command_reports_each_file(isolated, fake, tmp_path, monkeypatch, capsys):
    root = fake.write(tmp_path / "root")
    for name, sha in fake.checksums.items():
        monkeypatch.setitem(fm.SHA256, name, sha)
    assert main(["data", "--root", str(root), "--no-download"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    for line, name in zip(lines, [n for s in ("train", "test") for n in fm.FILES[s]], strict=True):
        assert line.split()[:2] == [name, "verified"]
        assert f"{len(fake.gz[name]):,} bytes" in line and str(root / f"{name}.gz") in line


def test_data_command_exits_1_when_missing_and_download_off(isolated, capsys):
    assert main(["data", "--no-download"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("backproplab: error: Fashion-MNIST file train-images-idx3-ubyte")
    assert "dataset-fashion-mnist" in err and "BACKPROPLAB_DATA" in err and "Traceback" not in err


def test_data_command_on_the_real_files(needs_fashion, capsys):
    assert main(["data", "--no-download"]) == 0
    out = capsys.readouterr().out
    assert out.count("verified") == 4
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in out


def test_data_command_with_a_missing_root_and_no_download_is_one_line_exit_1(isolated, fake, tmp_path,
                                                                            monkeypatch, capsys):
    monkeypatch.setattr(fm, "DEBIAN_DIR", fake.write(tmp_path / "debian"))  # it would be found there
    assert main(["data", "--root", str(tmp_path / "nope"), "--no-download"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"backproplab: error: Fashion-MNIST: root '{tmp_path / 'nope'}' does not exist")


def test_data_command_with_a_missing_root_warns_and_goes_on(isolated, fake, tmp_path, monkeypatch, capsys):
    debian = fake.write(tmp_path / "debian")
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)
    for name, sha in fake.checksums.items():
        monkeypatch.setitem(fm.SHA256, name, sha)
    assert main(["data", "--root", str(tmp_path / "nope")]) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"backproplab: warning: Fashion-MNIST: root '{tmp_path / 'nope'}' does not exist; "
                            "searching the other places instead\n")
    assert captured.out.count("verified") == 4 and str(debian) in captured.out
