import os

from django.core.management.base import BaseCommand

from apps.core.demo import DEMO_USER, seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo team, user and arithmetic project (idempotent). The demo user's "
        "password is DEMO_PASSWORD when set (applied on every run); otherwise a random one "
        "is generated and printed when the user is created or with --reset-password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-password", action="store_true",
            help="give the demo user a new random password (or DEMO_PASSWORD) and print it",
        )

    def handle(self, *args, reset_password: bool = False, **options):
        result = seed_demo(
            password=os.environ.get("DEMO_PASSWORD") or None, reset_password=reset_password
        )
        project = result.project
        self.stdout.write(
            f"demo project {project.name!r} (id {project.pk}): {project.skills.count()} skills, "
            f"{project.examples.count()} examples, {project.curricula.count()} curricula"
        )
        if result.password:
            self.stdout.write(f"user: {DEMO_USER}  password: {result.password}")
        else:
            self.stdout.write(
                f"user: {DEMO_USER} (password unchanged; --reset-password prints a new one)"
            )
