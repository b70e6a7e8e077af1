"""``GET /settings/`` (admins): every setting of this deployment an impact assessment asks about,
read from what the app runs with, and what it holds now (counts, never a name or a face) — the
keys facenet-server answers (``crates/server/src/settings.rs``).
"""

from importlib.metadata import PackageNotFoundError, version

import facenet_attendance_rules as rules
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from . import contract, privacy
from .headers import MIDDLEWARE_PATH
from .models import AccessToken, AuditEntry, FaceCrop, Person, Photo, RegisterFace, Session
from .views import ApiView, ok

# What erasing does to the bytes, per database engine.
ERASURE = {
    "postgresql": "rows deleted; their bytes stay in the table's pages until VACUUM reclaims them "
                  "(autovacuum, within minutes on a busy table; VACUUM after an erasure request makes it immediate)",
    "sqlite": "rows deleted; freed pages may keep the bytes until VACUUM (run it after an erasure request)",
}
TOKEN_STORAGE = (
    "128 random bits, shown once, stored as SHA-256 only; revocable, optionally expiring; kept by the page per tab"
)


def backend():
    try:
        return f"django facenet_attendance {version('facenet-attendance')}"
    except PackageNotFoundError:
        return "django facenet_attendance (not installed as a package)"


def storage():
    db = connection.settings_dict
    engine = connection.vendor
    location = str(db["NAME"]) if engine == "sqlite" else f"{db['NAME']} on {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
    return dict(engine=engine, location=location, erasure=ERASURE.get(engine, "rows deleted"))


def models_answer():
    known = contract.manifest()
    return [
        dict(model_name=name, model_version=known["version"], dimensions=d, threshold=known["thresholds"].get(name),
             gallery_size=rules.GALLERY_SIZE)
        for name, d in sorted(known["dimensions"].items())
    ]


def accounts():
    users = get_user_model().objects.filter(is_active=True)
    admin = Q(is_superuser=True) | Q(user_permissions__codename="administer_school") | Q(groups__permissions__codename="administer_school")
    admins = users.filter(admin).distinct().count()
    now = timezone.now()
    live = AccessToken.objects.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    return dict(admins=admins, teachers=users.count() - admins, live_tokens=live.count(),
                server_token=bool(getattr(settings, "FACENET_TOKEN", "")), token_storage=TOKEN_STORAGE)


def held():
    people = Person.objects.filter(erased_at__isnull=True)
    return dict(
        pupils=people.count(),
        consent_given=people.filter(consent="given").count(),
        reference_faces=FaceCrop.objects.filter(person__isnull=False).count(),
        lesson_faces=FaceCrop.objects.filter(person__isnull=True).count(),
        gallery_faces=RegisterFace.objects.count(),
        photo_images=Photo.objects.filter(image__isnull=False).count(),
        lessons=Session.objects.count(),
        audit_entries=AuditEntry.objects.count(),
    )


class Settings(ApiView):
    def get(self, request):
        self.caller.admin_only("reading the deployment's settings")
        limits = contract.LIMITS
        return ok(dict(
            backend=backend(),
            storage=storage(),
            retention=privacy.retention_answer(),
            models=models_answer(),
            accounts=accounts(),
            limits=dict(failed_sign_ins_per_minute=limits["failed_sign_ins_per_minute"],
                        # The WSGI server's (gunicorn's --timeout), not the app's to know.
                        request_timeout_seconds=None, max_image_body=limits["max_image_body"]),
            content_security_policy=contract.CONTRACT["content_security_policy"] if MIDDLEWARE_PATH in settings.MIDDLEWARE else None,
            held=held(),
        ))
