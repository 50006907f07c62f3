"""Run dashboard: server time, queries and page weight of a big run's page.

Builds, in a scratch PostgreSQL database (dropped and created again), one finished run of
20 rounds (0..19) over 100 skills (10 areas of 9 skills) and 5 levels, with the heaviest
dashboard there is: a mastery curriculum (a step line per skill), a skill-targeted plan
every round, 20 synthesized examples per round in all three review states and 300 failed
eval items per round. Then:

* server time: the run page and the failed items of one heatmap cell, requested with
  Django's test client (p50 / p95 wall and web-process CPU time, queries per request);
* page weight (``--weight``): collectstatic as production does it (hashed, compressed
  files), gunicorn with the production settings and WhiteNoise, and headless Chromium that
  logs in and loads the run page in a fresh context (first load), then reloads it; the
  bytes on the wire are summed from the browser's network events (headers included).

    .venv/bin/python benchmarks/dashboard.py --repeats 30 --weight
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from page_speed import recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_dashboard"
SKILLS, ROUNDS, LEVELS = 100, 20, 5
FAILURES_PER_ROUND, SYNTH_PER_ROUND = 300, 20
PASSWORD = "bench-password-123"
SECRET_KEY = "bench-" + secrets.token_hex(32)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)


def build(seed: int = 0):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.db import connection

    from apps.accounts.models import Membership, Role, Team
    from apps.curricula.models import Curriculum
    from apps.projects.models import Example, Project, Skill
    from apps.prompts.models import TeacherConfig
    from apps.runs.models import (
        EvalFailure,
        LevelStat,
        Round,
        Run,
        RunStatus,
        SkillStat,
        StudentSpec,
    )

    rng = random.Random(seed)
    # the production settings' hasher: the page-weight part logs in through gunicorn
    hasher = PBKDF2PasswordHasher()
    user = get_user_model().objects.create(
        username="bench", password=hasher.encode(PASSWORD, hasher.salt()))
    team = Team.objects.create(name="Bench team")
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Dashboard bench", task_family="arithmetic",
                                     created_by=user)
    roots = Skill.objects.bulk_create([Skill(project=project, name=f"area_{i:02d}")
                                       for i in range(10)])
    skills = roots + Skill.objects.bulk_create([
        Skill(project=project, name=f"skill_{i:03d}", parent=roots[i % 10])
        for i in range(SKILLS - 10)])
    names = [s.name for s in skills]
    levels = list(range(1, LEVELS + 1))
    teacher = TeacherConfig.objects.create(project=project, name="oracle", kind="oracle")
    curriculum = Curriculum.objects.create(project=project, name="mastery", strategy="mastery",
                                           params={})
    student = StudentSpec.objects.create(project=project, name="tiny", preset="tiny")
    run = Run.objects.create(project=project, name="big run", student=student,
                             teacher_config=teacher, curriculum=curriculum, rounds=ROUNDS - 1,
                             status=RunStatus.SUCCEEDED, current_round=ROUNDS - 1,
                             created_by=user)
    rounds = Round.objects.bulk_create([
        Round(run=run, index=i, metrics={
            "accuracy": 0.1 + i * 0.04, "held_out_accuracy": 0.02 * i, "held_out_levels": [5],
            "weakest_skill_accuracy": 0.05 + i * 0.02, "seconds": 30.0 + rng.random(),
            "synthesized": SYNTH_PER_ROUND if i else 0,
            "teacher": {"calls": 40, "prompt_tokens": 9000, "completion_tokens": 3000},
            "skill_accuracy": {n: rng.random() for n in names}},
            plan={"entries": [{"skill": n, "level": rng.choice(levels), "count": 30,
                               "source": rng.choice(["pool", "synth"]), "reason": "x"}
                              for n in rng.sample(names, 30)]} if i else {"entries": []},
            curriculum_state={"round": i, "skill_levels": {n: min(5, 1 + (i + k) // 7)
                                                          for k, n in enumerate(names)}})
        for i in range(ROUNDS)])
    SkillStat.objects.bulk_create([
        SkillStat(run=run, round=r, skill=s, evaluated=20, failed=(f := rng.randint(0, 20)),
                  miss_rate=f / 20, miss_share=f / 1000, accuracy=1 - f / 20)
        for r in rounds for s in skills], batch_size=5000)
    LevelStat.objects.bulk_create([
        LevelStat(run=run, round=r, level=lv, sampling_probability=1 / LEVELS,
                  success_rate=rng.random(), strategy_score=rng.random(), samples=640,
                  evaluated=40) for r in rounds for lv in levels], batch_size=5000)
    statuses = ["pending", "approved", "rejected"]
    Example.objects.bulk_create([
        Example(project=project, key=f"syn-{r.index}-{k}", prompt=f"{k}+{r.index}=",
                answer=str(k + r.index), level=1, origin="synthesized",
                review_status=statuses[k % 3], round=r)
        for r in rounds[1:] for k in range(SYNTH_PER_ROUND)], batch_size=2000)
    EvalFailure.objects.bulk_create([
        EvalFailure(run=run, round=r, item_id=f"e{k}", prompt=f"{k} + {k * 7} =",
                    answer=str(k * 8), prediction=str(k * 8 + 1), level=1 + k % LEVELS,
                    skills=[names[k % SKILLS]], blamed=[names[k % SKILLS]])
        for r in rounds for k in range(FAILURES_PER_ROUND)], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return user, run, names[10]


def measure(client, url: str, params: dict, repeats: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)  # warm-up
    walls, cpus, queries, size = [], [], 0, 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            walls.append(1000 * (time.perf_counter() - t0))
            cpus.append(1000 * (time.process_time() - c0))
        assert response.status_code == 200, (url, response.status_code)
        queries, size = len(ctx.captured_queries), len(response.content)
    walls.sort()
    return {"p50": statistics.median(walls), "p95": walls[max(0, int(0.95 * len(walls)) - 1)],
            "cpu_p50": statistics.median(cpus), "queries": queries, "bytes": size}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_weight(url: str, run_id: int, chromium: str, screenshot: str = "") -> dict:
    """First load and reload of the run page, in bytes on the wire, against gunicorn."""
    from cryptography.fernet import Fernet
    from playwright.sync_api import sync_playwright

    static_root = Path(tempfile.mkdtemp(prefix="bench-static-"))
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.prod",
           "DJANGO_SECRET_KEY": SECRET_KEY, "STUDIO_SECRET_KEYS": Fernet.generate_key().decode(),
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
           "DJANGO_STATIC_ROOT": str(static_root)}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                   cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--worker-class", "gthread"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium,
                                         args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", "bench")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            seen: list[dict] = []
            cdp.on("Network.loadingFinished", lambda e: seen.append(e))
            cdp.on("Network.responseReceived", lambda e: seen.append(
                {"url": e["response"]["url"], "status": e["response"]["status"]}))
            cdp.on("Network.requestServedFromCache", lambda e: seen.append({"cached": 1}))

            def load(action) -> dict:
                seen.clear()
                t0 = time.perf_counter()
                action()
                page.wait_for_selector("#dash-heatmap .main-svg")
                page.wait_for_load_state("networkidle")
                ms = 1000 * (time.perf_counter() - t0)
                done = [e for e in seen if "encodedDataLength" in e]
                responses = [e for e in seen if "url" in e]
                return {"bytes": sum(e["encodedDataLength"] for e in done),
                        "requests": len(responses), "ms": ms,
                        "from_cache": sum(1 for e in seen if "cached" in e),
                        "statuses": sorted({e["status"] for e in responses})}

            # a fresh cache for the first load: another context would log in again
            cdp.send("Network.clearBrowserCache")
            first = load(lambda: page.goto(f"{base}/runs/{run_id}/"))
            if screenshot:
                page.set_viewport_size({"width": 1400, "height": 1000})
                page.locator("#dashboard").screenshot(path=screenshot)
            again = load(lambda: page.reload())
            browser.close()
        return {"first": first, "reload": again}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--weight", action="store_true", help="also measure page weight")
    parser.add_argument("--screenshot", default="", help="save the dashboard as this PNG")
    parser.add_argument("--chromium", default=os.environ.get("STUDIO_CHROMIUM",
                                                             "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    recreate_database(args.database)
    setup_django(args.database)
    from django.test import Client
    from django.urls import reverse

    from apps.runs.dashboard import run_dashboard_context

    t0 = time.perf_counter()
    user, run, skill = build()
    print(f"built {ROUNDS} rounds x {SKILLS} skills in {time.perf_counter() - t0:.1f} s")
    t, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run_dashboard_context(run=run)
        t.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.process_time() - c0))
    t.sort()
    print(f"run_dashboard_context: p50 {statistics.median(t):.1f} ms, "
          f"p95 {t[max(0, int(0.95 * len(t)) - 1)]:.1f} ms, CPU p50 "
          f"{statistics.median(cpu):.1f} ms")
    client = Client()
    client.force_login(user)
    for label, url, params in (
        ("run page", reverse("runs:run-detail", args=[run.pk]), {}),
        ("failed items of a cell", reverse("runs:run-failures", args=[run.pk]),
         {"round": ROUNDS - 1, "skill": skill}),
    ):
        m = measure(client, url, params, args.repeats)
        print(f"{label}: p50 {m['p50']:.1f} ms, p95 {m['p95']:.1f} ms, web CPU p50 "
              f"{m['cpu_p50']:.1f} ms, {m['queries']} queries, {m['bytes'] / 1024:.0f} KiB")
    if args.weight:
        w = page_weight(args.database, run.pk, args.chromium, args.screenshot)
        for key, label in (("first", "first load"), ("reload", "reload")):
            m = w[key]
            print(f"{label}: {m['bytes'] / 1024:.1f} KiB transferred, {m['requests']} "
                  f"responses ({m['from_cache']} from the browser cache, statuses "
                  f"{m['statuses']}), {m['ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
