"""No secret and no photo ever enters an image or a commit.

A copy of this checkout is set up the way a deployment really is: ``.env`` from ``.env.example``,
every host folder it names populated (photos, ``rclone.conf`` with both crypt passwords, Syncthing
keys), plus what people leave around (the old in-checkout ``data/`` and ``config/`` defaults, the
dev run's ``var/``, a stray key or ``.env`` copy, a ``rclone.conf`` dropped into a source folder).
Every such file carries a marker. Then:

- the build context is computed with Docker's own ``.dockerignore`` rules (``docker`` SDK's
  ``exclude_paths``, which docker-compose 1.29 builds with) and must hold no marked file, yet
  everything the Dockerfile copies and the unit-test gate runs;
- real git must ignore every marked file inside the checkout (``git check-ignore``, and
  ``git add -A --dry-run`` offers none of them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MARKER = ("PF-PERSONAL-" + "DO-NOT-SHIP").encode()  # split: this file itself ships

pytestmark = pytest.mark.skipif(
    not (REPO / ".dockerignore").is_file() or not (REPO / ".git").exists() or shutil.which("git") is None,
    reason="needs a git checkout with its .dockerignore (not available inside the image build)",
)


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=check)


def _tracked() -> list[str]:
    out = _git(REPO, "ls-files", "-z").stdout.decode()
    return [p for p in out.split("\0") if p and (REPO / p).is_file()]


def _env_values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line))


def _personal(path: Path, what: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MARKER + b" " + what.encode() + b"\n")
    return path


RCLONE_CONF = (
    "[b2]\ntype = b2\naccount = 0012345abcdef\nkey = K001secretsecret\n\n"
    "[secret]\ntype = crypt\nremote = b2:bucket/photos\n"
    "password = obscured-crypt-password\npassword2 = obscured-crypt-salt\n"
)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """(checkout copy, every personal or secret file written in and around it)."""
    base = tmp_path_factory.mktemp("deploy")
    root = base / "photo-factory"
    for rel in _tracked():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, root / rel)
    example = (root / ".env.example").read_text()
    env = example.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=0123456789abcdef\n")
    env = env.replace("PF_BACKUP_REMOTE=\n", "PF_BACKUP_REMOTE=secret:photos\n")
    personal = [_personal(root / ".env", "the deployment's .env")]
    personal[0].write_text(env + "\n# " + MARKER.decode() + "\n")

    # every host folder .env.example names, resolved as compose does (relative to the checkout)
    folders = {k: (root / v).resolve() for k, v in _env_values(example).items() if k.endswith("_PATH")}
    assert {"INBOX_PATH", "STORAGE_PATH", "RCLONE_CONFIG_PATH", "SYNCTHING_CONFIG_PATH", "BACKUP_PATH"} <= set(folders)
    for name, folder in folders.items():
        personal += [
            _personal(folder / "phone" / "IMG_0001.JPG", f"a photo in {name}"),
            _personal(folder / "Library" / "2024" / "2024-01-31" / "IMG_0002.HEIC", f"a filed photo in {name}"),
        ]
    conf = folders["RCLONE_CONFIG_PATH"] / "rclone.conf"
    personal.append(_personal(conf, "rclone.conf"))
    conf.write_bytes(RCLONE_CONF.encode() + b"# " + MARKER + b"\n")
    personal += [
        _personal(folders["SYNCTHING_CONFIG_PATH"] / "config" / "key.pem", "syncthing device key"),
        _personal(folders["SYNCTHING_CONFIG_PATH"] / "config" / "cert.pem", "syncthing device cert"),
    ]

    # what people leave in a checkout: the old defaults, the dev run, stray secrets
    for rel in (
        "data/inbox/phone/IMG_0003.JPG",
        "data/storage/Library/2024/2024-01-31/IMG_0003.JPG",
        "data/syncthing/config/key.pem",
        "data/backup/photo-factory/abc123",
        "config/rclone/rclone.conf",
        "var/storage/Library/2024/2024-02-01/IMG_0004.JPG",
        "var/inbox/IMG_0005.JPG",
        "var/pg/base/1/1259",
        ".env.local",
        ".env.production",
        "rclone.conf",
        "processor/backup/rclone.conf",
        "docker/.env",
        "tests/unit/.env",
        "id_ed25519",
        "scripts/backup.key",
        "photo_factory/server.pem",
    ):
        personal.append(_personal(root / rel, rel))
    return root, personal


def _build_context(root: Path) -> set[str]:
    """The files ``docker build`` sends: Docker's .dockerignore rules, as the docker SDK (and
    docker-compose 1.29's builder) applies them, with the same parsing of the file."""
    from docker.utils.build import exclude_paths

    lines = (root / ".dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    return {p for p in exclude_paths(str(root), patterns, dockerfile="Dockerfile") if (root / p).is_file()}


def test_no_secret_or_photo_enters_the_build_context(deployment: tuple[Path, list[Path]]) -> None:
    root, _ = deployment
    context = _build_context(root)
    leaked = sorted(p for p in context if MARKER in (root / p).read_bytes())
    assert leaked == []
    assert not {p for p in context if p.split("/")[0] in {".git", "data", "config", "var", ".venv"}}


def test_the_build_context_still_holds_everything_the_image_needs(deployment: tuple[Path, list[Path]]) -> None:
    root, _ = deployment
    context = _build_context(root)
    # every COPY source of the Dockerfile (but `.` and other stages)
    sources = set()
    for line in (root / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources |= {w for w in words[1:-1] if not w.startswith("--") and w != "."}
    assert sources and sources <= context
    # `COPY . /app` then `pip install /app`: every package module and migration; the test gate
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = {pyproject["package-dir"].get(p, p.replace(".", "/")) for p in pyproject["packages"]}
    needed = {
        rel
        for rel in _tracked()
        if rel.endswith((".py", ".sql"))
        and (any(rel.startswith(d + "/") for d in dirs) or rel.startswith(("db/migrations/", "tests/unit/")))
    }
    needed |= {"pyproject.toml", "requirements.lock", "tests/conftest.py", "tests/__init__.py"}
    assert needed - context == set()


def test_git_ignores_every_secret_and_photo_inside_the_checkout(
    deployment: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    root, personal = deployment
    repo = tmp_path / "repo"
    shutil.copytree(root, repo, symlinks=True)
    _git(repo, "init", "-q")
    inside = [p.relative_to(root).as_posix() for p in personal if p.is_relative_to(root)]
    assert len(inside) >= 15
    for rel in inside:
        assert _git(repo, "check-ignore", "-q", "--no-index", rel, check=False).returncode == 0, rel
    offered = _git(repo, "add", "-A", "--dry-run").stdout.decode().splitlines()
    leaked = [ln for ln in offered if MARKER in (repo / ln.removeprefix("add '").removesuffix("'")).read_bytes()]
    assert leaked == []


def test_the_default_host_folders_are_outside_the_checkout(deployment: tuple[Path, list[Path]]) -> None:
    root, personal = deployment
    example = _env_values((root / ".env.example").read_text())
    for name, value in example.items():
        if name.endswith("_PATH"):
            assert not (root / value).resolve().is_relative_to(root), f"{name}={value} is inside the checkout"
    compose = (root / "docker-compose.yml").read_text()
    for default in re.findall(r"\$\{[A-Z_]+_PATH:-([^}]+)\}", compose):
        assert not (root / default).resolve().is_relative_to(root), f"docker-compose.yml default {default}"


def _docker_up() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


@pytest.mark.docker
def test_a_real_docker_build_copies_no_secret_or_photo(deployment: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """The same context through a real engine: ``COPY . /ctx/`` into an empty image, then look."""
    if not _docker_up():
        pytest.skip("no Docker engine")
    root, _ = deployment
    dockerfile = tmp_path / "Dockerfile.probe"  # outside the context, like any -f file
    dockerfile.write_text("FROM scratch\nCOPY . /ctx/\n")
    tag = f"pf-context-probe:{tmp_path.name.lower()[-20:]}"
    subprocess.run(
        ["docker", "build", "-q", "-f", str(dockerfile), "-t", tag, str(root)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    try:
        cid = subprocess.run(
            ["docker", "create", tag, "/none"], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            tar = tmp_path / "image.tar"
            subprocess.run(["docker", "export", "-o", str(tar), cid], check=True, timeout=600)
        finally:
            subprocess.run(["docker", "rm", cid], capture_output=True)
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    import tarfile

    with tarfile.open(tar) as t:
        shipped = {
            m.name.removeprefix("ctx/"): t.extractfile(m).read()
            for m in t.getmembers()
            if m.isfile() and m.name.startswith("ctx/")
        }
    assert [name for name, data in shipped.items() if MARKER in data] == []
    assert not any(name.startswith(("config/", "data/", "var/")) for name in shipped)
    assert set(shipped) - {".dockerignore", "Dockerfile"} == _build_context(root) - {".dockerignore", "Dockerfile"}


def test_the_images_unit_test_gate_collects_from_the_build_context_alone(tmp_path: Path) -> None:
    """The image build runs `pytest tests/unit` on what the context sends: a unit test reading a
    file the allow-list leaves out (the motion-photo samples did) fails every `docker compose build`."""
    gate = tmp_path / "src"
    for rel in _build_context(REPO):
        (gate / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, gate / rel)
    argv = [sys.executable, "-m", "pytest", "tests/unit", "--collect-only", "-q", "-p", "no:cacheprovider",
            "-o", "addopts=--strict-markers"]
    proc = subprocess.run(argv, cwd=gate, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
