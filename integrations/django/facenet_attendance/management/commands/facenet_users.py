"""``manage.py facenet_users add NAME [--admin] [--expires-in-days N]`` (the token alone on the
last line, shown once), ``list``, ``revoke NAME``: facenet-server's ``users`` commands, on
Django's users."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from ...auth import live_tokens
from ...models import AccessToken
from ...school import is_admin, issue_token


class Command(BaseCommand):
    help = "Accounts of the attendance API: teachers and admins, with their tokens"

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="create an account; prints its token alone on the last line")
        add.add_argument("name")
        add.add_argument("--admin", action="store_true", help="creates accounts and classes, reaches every class")
        add.add_argument("--expires-in-days", type=int, default=None)
        actions.add_parser("list", help="list the accounts")
        revoke = actions.add_parser("revoke", help="revoke every token of an account")
        revoke.add_argument("name")

    def handle(self, *args, action, **options):
        User = get_user_model()
        if action == "add":
            with transaction.atomic():
                if User.objects.filter(username=options["name"]).exists():
                    raise CommandError(f"there is a user named {options['name']!r} already")
                user = User.objects.create_user(username=options["name"])
                if options["admin"]:
                    user.user_permissions.add(
                        Permission.objects.get(codename="administer_school", content_type__app_label="facenet_attendance")
                    )
                token, expires = issue_token(user, options["expires_in_days"])
            role = "admin" if options["admin"] else "teacher"
            until = f", expires {expires} UTC" if expires else ""
            self.stdout.write(f"account {user.id} ({user.username}, {role}{until}); its token, shown this once:")
            self.stdout.write(token)
        elif action == "list":
            for user in User.objects.order_by("username"):
                tokens = live_tokens().filter(user=user).count()
                classes = list(user.facenet_classes.order_by("id").values_list("id", flat=True))
                role = "admin" if is_admin(user) else "teacher"
                self.stdout.write(f"{user.id}\t{user.username}\t{role}\t{tokens} live tokens\tclasses {classes}")
        else:
            user = User.objects.filter(username=options["name"]).first()
            if user is None:
                raise CommandError(f"no user named {options['name']!r}")
            n = AccessToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
            self.stdout.write(f"{n} tokens of {user.username} revoked")
