from django.core.management.base import BaseCommand, CommandError

from apps.common.secrets import SETTING, SecretKeyError, reencrypt_all


class Command(BaseCommand):
    help = (
        f"Re-encrypt every stored secret (teachers' API keys) with the first key of {SETTING}. "
        "To rotate: put the new key first in STUDIO_SECRET_KEYS and keep the old one after it "
        "(on every web and worker process), run this command, then drop the old key "
        "(docs/security.md)."
    )

    def handle(self, *args, **options):
        try:
            counts = reencrypt_all()
        except SecretKeyError as exc:
            raise CommandError(str(exc)) from None
        total = sum(counts.values())
        for label, count in sorted(counts.items()):
            self.stdout.write(f"{label}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(
            f"{total} stored secret(s) now encrypted with the first key of {SETTING}; "
            "keys after the first may be dropped once every process has the new list."
        ))
