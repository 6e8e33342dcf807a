"""Operating-system errors are one ``error:`` line and exit status 2, never a traceback: unreadable files, paths
through a file, outputs that are the wrong kind of thing or cannot be written, a full stdout, bytes that are not
UTF-8 (issue 14, part 4). The permission cases run the command line as root without CAP_DAC_OVERRIDE (``setpriv``)
where that can be dropped, or as the user the tests run as otherwise."""
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.persistence import write_manifest

CLI = [sys.executable, "-m", "hierarchy"]


def without_override() -> list[str] | None:
    """The command prefix that makes permissions apply: none for a user, ``setpriv`` dropping the capabilities that
    let root ignore them; None where root cannot drop them."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    if not shutil.which("setpriv"):
        return None
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else None


PREFIX = without_override()
needs_permissions = pytest.mark.skipif(PREFIX is None, reason="root here cannot drop CAP_DAC_OVERRIDE")


def run(*args, stdin: bytes = b"", stdout=subprocess.PIPE, prefix=()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, *CLI, *map(str, args)], input=stdin, stdout=stdout, stderr=subprocess.PIPE,
                          cwd=ROOT, timeout=300)


def assert_one_line(returncode: int, stderr: str, *named) -> None:
    lines = stderr.strip().splitlines()
    assert returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (returncode, stderr)
    assert all(str(n) in lines[0] for n in named), (named, lines[0])


def invoke(*args, stdin: bytes | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("The cat sat .\n", encoding="utf-8")
    return path


@needs_permissions
def test_unreadable_input(trained_model, text_file):
    text_file.chmod(0)
    done = run("annotate", trained_model, text_file, prefix=PREFIX)
    assert_one_line(done.returncode, done.stderr.decode(), text_file, "Permission denied")
    done = run("evaluate", trained_model, "--conllu", text_file, prefix=PREFIX)
    assert_one_line(done.returncode, done.stderr.decode(), text_file, "Permission denied")


@needs_permissions
def test_read_only_output_is_refused_before_training(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    done = run("train", ROOT / "models" / "jmt.toml", "--output", locked / "model", "--quiet", prefix=PREFIX)
    assert_one_line(done.returncode, done.stderr.decode(), locked, "permission denied")
    assert b"epoch" not in done.stdout  # refused before the first epoch, not after it
    assert not (locked / "model").exists()


def test_a_path_through_a_regular_file(trained_model, text_file):
    done = run("annotate", trained_model, text_file / "more.txt")
    assert_one_line(done.returncode, done.stderr.decode(), text_file / "more.txt", "Not a directory")


def test_a_full_stdout(trained_model, text_file):
    with open("/dev/full", "w") as full:
        done = run("annotate", trained_model, text_file, stdout=full)
    assert_one_line(done.returncode, done.stderr.decode(), "No space left on device")


def test_stdin_that_is_not_utf8(trained_model):
    done = run("annotate", trained_model, stdin=b"The cat \xff sat .\n")
    assert_one_line(done.returncode, done.stderr.decode(), "<stdin>:1", "UTF-8", "0xff")


@pytest.mark.parametrize("where", ["output file is a directory", "output under a file"])
def test_annotate_output_that_cannot_be_a_file(trained_model, text_file, tmp_path, where):
    output = tmp_path if where == "output file is a directory" else text_file / "out.conllu"
    result = invoke("annotate", trained_model, text_file, "-o", output)
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {output}"), result.stderr


def test_write_predictions_into_a_file(trained_model, text_file):
    result = invoke("evaluate", trained_model, "--conllu", SAMPLE / "dev.conllu", "--write-predictions", text_file)
    assert result.exit_code == 2 and "expected a directory, found a file" in result.stderr, result.stderr


def test_train_output_that_is_a_file(text_file):
    result = invoke("train", ROOT / "models" / "jmt.toml", "--output", text_file)
    assert result.exit_code == 2 and "expected a directory, found a file" in result.stderr, result.stderr


def test_symlinked_package_target(trained_model, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    result = invoke("package", trained_model, tmp_path / "link", "--force")
    assert result.exit_code == 2 and "symbolic link" in result.stderr, result.stderr
    assert real.is_dir() and (tmp_path / "link").is_symlink()


def test_batch_size_zero_is_refused(trained_model, text_file):
    result = invoke("annotate", trained_model, text_file, "--batch-size", "0")
    assert result.exit_code == 2 and "--batch-size must be at least 1" in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["config.toml", "vocab.json"])
def test_model_file_that_is_not_utf8(trained_model, text_file, tmp_path, name):
    copy = tmp_path / "model"
    shutil.copytree(trained_model, copy)
    with open(copy / name, "ab") as f:
        f.write(b"\n\xe9\n")
    write_manifest(copy)  # as if saved so: the file is parsed (else the manifest refuses it first)
    result = invoke("annotate", copy, text_file)
    assert result.exit_code == 2 and f"{name}:" in result.stderr and "UTF-8" in result.stderr, result.stderr


def test_recipe_that_is_not_utf8(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_bytes(b"format_version = 1\n# caf\xe9\n")
    result = invoke("train", recipe)
    assert result.exit_code == 2 and f"{recipe}:2: expected UTF-8 text" in result.stderr, result.stderr
