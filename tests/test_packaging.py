"""The wheel works outside the repository: construct + runtime package, asset staged from it."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

TINY_APP = textwrap.dedent(
    """
    import json, sys
    from aws_cdk import App, Stack
    import dms_task_starter, dms_task_starter_runtime
    from dms_task_starter import ReplicationTaskStarter

    app = App(outdir=sys.argv[1])
    stack = Stack(app, "Tiny")
    ReplicationTaskStarter(stack, "S", task="arn:aws:dms:eu-west-1:123456789012:task:ABC")
    app.synth()
    print(json.dumps({
        "construct": dms_task_starter.__file__,
        "runtime": dms_task_starter_runtime.__file__,
    }))
    """
)


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(dist),
            str(REPO_ROOT),
        ],
        cwd=dist,
    )
    (built,) = dist.glob("cdk_dms_task_starter-*.whl")
    return built


def test_wheel_contains_both_packages(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "dms_task_starter/__init__.py",
        "dms_task_starter/py.typed",
        "dms_task_starter_runtime/contract.py",
        "dms_task_starter_runtime/handler.py",
        "dms_task_starter_runtime/py.typed",
    ):
        assert expected in names
    assert not any(name.startswith(("constructs/", "lambda/", "tests/")) for name in names)


def test_installed_wheel_synthesizes_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            cwd=tmp_path,
        ).strip()
    )
    # aws-cdk-lib & co. from this venv (no download); the repo itself must not be importable.
    parent_paths = [p for p in site.getsitepackages() if "site-packages" in p]
    (purelib / "parent-site-packages.pth").write_text("\n".join(parent_paths) + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--target",
            str(purelib),
            str(wheel),
        ],
        cwd=tmp_path,
    )
    app_file = tmp_path / "tiny_app.py"
    app_file.write_text(TINY_APP)
    outdir = tmp_path / "cdk.out"
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    output = _run([str(python), str(app_file), str(outdir)], cwd=tmp_path, env=env)
    located = json.loads(output.strip().splitlines()[-1])
    for path in located.values():
        assert Path(path).is_relative_to(purelib), located

    template = json.loads((outdir / "Tiny.template.json").read_text())
    handlers = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and str(r["Properties"].get("Handler", "")).startswith("dms_task_starter_runtime.")
    ]
    assert len(handlers) == 2
    asset_hash = str(handlers[0]["Properties"]["Code"]["S3Key"]).removesuffix(".zip")
    assert (outdir / f"asset.{asset_hash}" / "dms_task_starter_runtime" / "handler.py").is_file()


# Release artifacts: `python -m build` (sdist, then the wheel from the sdist), offline.

APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt (11358 bytes)."""


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel `python -m build --no-isolation` makes (no download)."""
    dist = tmp_path_factory.mktemp("release")
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO_ROOT)],
        cwd=dist,
    )
    (sdist,) = dist.glob("cdk_dms_task_starter-*.tar.gz")
    (built_wheel,) = dist.glob("cdk_dms_task_starter-*-py3-none-any.whl")
    return sdist, built_wheel


def test_license_is_the_apache_2_text() -> None:
    import hashlib

    digest = hashlib.sha256((REPO_ROOT / "LICENSE").read_bytes()).hexdigest()
    assert digest == APACHE_2_SHA256


def test_release_passes_twine_check_strict(release: tuple[Path, Path]) -> None:
    sdist, built_wheel = release
    env = {**os.environ, "NO_COLOR": "1"}
    output = _run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(built_wheel)],
        cwd=sdist.parent,
        env=env,
    )
    assert output.count("PASSED") == 2, output
    assert "WARNING" not in output
    assert "FAILED" not in output


def test_license_and_changelog_are_in_the_release(release: tuple[Path, Path]) -> None:
    import tarfile
    import zipfile

    sdist, built_wheel = release
    license_bytes = (REPO_ROOT / "LICENSE").read_bytes()
    root = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        names = set(tar.getnames())
        member = tar.extractfile(f"{root}/LICENSE")
        assert member is not None
        assert member.read() == license_bytes
    for expected in ("CHANGELOG.md", "README.md", "pyproject.toml"):
        assert f"{root}/{expected}" in names
    assert f"{root}/lambda/dms_task_starter_runtime/handler.py" in names
    with zipfile.ZipFile(built_wheel) as archive:
        dist_info = f"{root}.dist-info"
        assert archive.read(f"{dist_info}/licenses/LICENSE") == license_bytes
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        assert "dms_task_starter/metrics.py" in archive.namelist()
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata


def test_release_wheel_contains_both_packages(release: tuple[Path, Path]) -> None:
    test_wheel_contains_both_packages(release[1])


def test_release_wheel_synthesizes_outside_the_repo(
    release: tuple[Path, Path], tmp_path: Path
) -> None:
    """The wheel built from the sdist installs into a fresh venv and stages the runtime."""
    test_installed_wheel_synthesizes_outside_the_repo(release[1], tmp_path)


def test_metadata_says_what_the_package_is(release: tuple[Path, Path]) -> None:
    """The index page: floors, Python versions, typed, CDK v2, keywords, license expression."""
    import tomllib
    import zipfile

    _, built_wheel = release
    root = built_wheel.name.split("-py3-")[0]
    with zipfile.ZipFile(built_wheel) as archive:
        metadata = archive.read(f"{root}.dist-info/METADATA").decode()
    with (REPO_ROOT / "pyproject.toml").open("rb") as pyproject:
        project = tomllib.load(pyproject)["project"]
    for classifier in (
        "Framework :: AWS CDK :: 2",
        "Typing :: Typed",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3 :: Only",
    ):
        assert f"Classifier: {classifier}\n" in metadata
    assert "Keywords: aws,aws-cdk,cdk,cloudformation" in metadata
    assert "Requires-Python: >=3.11" in metadata
    for dependency in project["dependencies"]:
        name, _, rest = dependency.partition(">=")
        floor, _, ceiling = rest.partition(",")
        assert f"Requires-Dist: {name}{ceiling},>={floor}\n" in metadata
    assert "Description-Content-Type: text/markdown" in metadata


def test_sdist_carries_the_docs_and_no_tests(release: tuple[Path, Path]) -> None:
    """The sdist is the package with its documentation; the tests need the whole repository."""
    import tarfile

    sdist, _ = release
    root = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.removeprefix(f"{root}/") for name in tar.getnames()}
    assert not any(name.startswith("tests/") for name in names)
    pages = {f"docs/{page.name}" for page in (REPO_ROOT / "docs").glob("*.md")}
    assert pages <= names
    assert "CONTRIBUTING.md" in names
