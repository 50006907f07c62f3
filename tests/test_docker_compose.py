"""No Docker engine runs in CI: check the compose file refers only to things that exist."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker" / "compose.yaml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_every_service():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "gpu-worker", "beat", "flower"}


def test_built_services_use_existing_dockerfiles():
    for name, service in _compose()["services"].items():
        build = service.get("build")
        if build is None:
            continue
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == ROOT, name
        assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"


def _command_target_exists(command: list[str]) -> bool:
    program = command[0]
    if program.startswith("./"):
        return (ROOT / program).is_file()
    if program == "celery":
        app = command[command.index("-A") + 1]
        return (ROOT / app / "celery.py").is_file() or (ROOT / f"{app}.py").is_file()
    return False


def test_every_project_command_exists():
    for name, service in _compose()["services"].items():
        if "build" not in service:
            continue
        assert _command_target_exists(service["command"]), f"{name}: {service['command']}"


def test_worker_queues_match_routing():
    services = _compose()["services"]
    worker = services["worker"]["command"]
    assert worker[worker.index("-Q") + 1] == "default"
    gpu_script = (ROOT / "scripts" / "gpu-worker.sh").read_text()
    assert "-Q gpu -c 1 --prefetch-multiplier 1" in gpu_script
    reservation = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert reservation["capabilities"] == ["gpu"]


def test_dockerfile_copies_exist():
    for dockerfile in (ROOT / "docker").glob("*.Dockerfile"):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY "):
                for src in line.split()[1:-1]:
                    assert (ROOT / src).exists(), f"{dockerfile.name}: COPY {src}"


def test_web_image_has_no_torch():
    requirements = (ROOT / "docker" / "requirements-web.txt").read_text().lower()
    assert "torch" not in requirements and "transformers" not in requirements


def test_the_web_container_checks_its_health_endpoint():
    from django.urls import reverse

    check = " ".join(_compose()["services"]["web"]["healthcheck"]["test"])
    assert reverse("core:health") in check
