"""``manage.py facenet_purge [--dry-run]``: the retention schedule enforced (what is due is
erased, by kind, as ``POST /retention/purge/`` does). facenet-server purges at start and daily by
itself; a Django deployment runs this daily (cron, a systemd timer)."""

from django.core.management.base import BaseCommand

from ...privacy import purge


class Command(BaseCommand):
    help = "Erase what the retention schedule says is due (FACENET_RETENTION over the defaults)"

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count only")

    def handle(self, *args, dry_run, **options):
        counts = purge(dry_run, "retention schedule")
        verb = "due" if dry_run else "erased"
        self.stdout.write(", ".join(f"{c['kind']} {c['count']}" for c in counts) + f" {verb}")
