"""facenet-server's tables on Django's ORM: classes with their teachers (Django's users) and
rosters, pupils, sessions (lessons), photos, face crops and vectors, marks and finalised
registers, and the accounts' hashed tokens."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class SchoolClass(models.Model):
    """A class: its teachers (accounts) and its roster of pupils. ``imported`` marks the class that
    took everything of the schema before classes (and sessions of old clients made by an admin)."""

    name = models.CharField(max_length=200)
    imported = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    teachers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="facenet_classes", blank=True)

    class Meta:
        permissions = [("administer_school", "Can create accounts and classes, and reach every class")]


class Person(models.Model):
    """A pupil: a display name (not unique), the school's own number, the crops labelled with
    them are their references."""

    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, unique=True, null=True)
    created_at = models.DateTimeField(default=timezone.now)
    classes = models.ManyToManyField(SchoolClass, through="RosterEntry", related_name="pupils")
    # The consent standing, kept beside the history (matching reads it per lesson); when they left
    # their last class; when they were erased (their finalised marks kept).
    consent = models.CharField(max_length=9, default="not_asked")
    left_at = models.DateTimeField(null=True)
    erased_at = models.DateTimeField(null=True)


class RosterEntry(models.Model):
    """A pupil on a class's roster."""

    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE)
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school_class", "person"], name="once_per_roster")]


class Session(models.Model):
    """A lesson of one class: its photos and face crops. ``starts_at`` is ``YYYY-MM-DD HH:MM:SS``
    UTC, as facenet-server stores it (text order is time order)."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, null=True, related_name="sessions")
    starts_at = models.CharField(max_length=19, default="")

    class Meta:
        indexes = [models.Index(fields=["school_class", "starts_at"])]


class Photo(models.Model):
    """A photo of a session: its record, and the image itself only when the teacher uploaded it."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="photos")
    filename = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.BigIntegerField(null=True)
    content_type = models.CharField(max_length=100, null=True)
    image = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now)


class FaceCrop(models.Model):
    """One face: the aligned crop's bytes, where it was found, and who it is once enrolled."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="crops")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    image = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    photo = models.ForeignKey(Photo, on_delete=models.SET_NULL, null=True, related_name="crops")
    # {"x", "y", "width", "height"} and [[x, y] × 5] in the photo's pixels; the detector's score.
    box = models.JSONField(null=True)
    landmarks = models.JSONField(null=True)
    score = models.FloatField(null=True)
    # The crop's pixels' sharpness at upload (the rules' ``sharpness``), for the face's quality;
    # None for crops stored before it was kept (never poor for it).
    sharpness = models.FloatField(null=True)
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, related_name="crops")
    # The teacher's word on the face: None (the matching decides), "person" (verdict_person), "nobody".
    verdict = models.CharField(max_length=6, null=True)
    verdict_person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)


class Embedding(models.Model):
    """A crop's vector for one model: little-endian f32 values, with the model that made them."""

    crop = models.ForeignKey(FaceCrop, on_delete=models.CASCADE, related_name="embeddings")
    model_name = models.CharField(max_length=64)
    model_version = models.CharField(max_length=64)
    dimension = models.PositiveIntegerField()
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["crop", "model_name"], name="one_vector_per_crop_and_model")]


class Mark(models.Model):
    """A pupil's mark by hand in an open register."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="marks")
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    mark = models.CharField(max_length=8)
    by_name = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "person"], name="one_mark_per_pupil")]


class StoredRegister(models.Model):
    """A finalised register, as it was answered: it does not change until reopened."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, primary_key=True, related_name="stored_register")
    finalized_at = models.CharField(max_length=19)
    finalized_by = models.CharField(max_length=200)
    crop_ids = models.JSONField()
    answer = models.TextField()


class RegisterMark(models.Model):
    """A finalised register's mark of one pupil, for reports."""

    register = models.ForeignKey(StoredRegister, on_delete=models.CASCADE, related_name="marks")
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    mark = models.CharField(max_length=8)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["register", "person"], name="one_final_mark_per_pupil")]


class RegisterFace(models.Model):
    """A face a finalised register confirms (the rules' ``confirmed_by``): its pupil's gallery
    draws on it. It goes with the register (reopened), the crop (erased, purged) or the pupil
    (facenet-server's ``register_faces``)."""

    register = models.ForeignKey(StoredRegister, on_delete=models.CASCADE, related_name="faces")
    crop = models.OneToOneField("FaceCrop", on_delete=models.CASCADE, primary_key=True, related_name="confirmed")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="gallery")


class RegisterEvent(models.Model):
    """Every finalise and reopen, who and when."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="register_events")
    action = models.CharField(max_length=8)
    by_name = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True)


class AccessToken(models.Model):
    """An account's bearer token, kept as its SHA-256 only (hex): shown once, revocable, expiring."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="facenet_tokens")
    hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True)
    revoked_at = models.DateTimeField(null=True)


class ConsentRecord(models.Model):
    """One entry of a pupil's consent history."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    state = models.CharField(max_length=9)
    by_whom = models.CharField(max_length=8)
    purpose = models.TextField()
    recorded_by = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True)


class AuditEntry(models.Model):
    """Who did what to whom, when: append-only (database triggers refuse an update or a delete),
    never a vector or an image."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=16)
    person_id = models.BigIntegerField(null=True, db_index=True)
    session_id = models.BigIntegerField(null=True)
    class_id = models.BigIntegerField(null=True)
    detail = models.JSONField(default=dict)


class Installation(models.Model):
    """This database's identity, made once (migration 0004): a page's upload queue is kept per
    database, so that nothing queued for one is sent to another (facenet-server's meta table)."""

    database_id = models.CharField(max_length=32, unique=True)


class IdempotentRequest(models.Model):
    """The answer to a write that carried an ``Idempotency-Key`` (idempotency.py), by caller and
    key; ``status`` is null while the first request is being answered. Kept a day."""

    caller = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.IntegerField(null=True)
    content_type = models.CharField(max_length=100, null=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The crop or photo the answer is about ("crop:4411"): erasing it erases the answer too.
    about = models.CharField(max_length=40, null=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="facenet_idempotency_caller_key")]
