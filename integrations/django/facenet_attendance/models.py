"""Sessions, photos, face crops, people and vectors: facenet-server's tables on Django's ORM."""

from django.db import models


class Session(models.Model):
    """A lesson: its photos and face crops."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)


class Person(models.Model):
    """Someone enrolled: the crops labelled with them are their references."""

    name = models.CharField(max_length=200, unique=True)


class Photo(models.Model):
    """A photo of a session: its record, and the image itself only when the teacher uploaded it."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="photos")
    filename = models.CharField(max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.BigIntegerField(null=True)
    content_type = models.CharField(max_length=100, null=True)
    image = models.BinaryField(null=True)


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
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, related_name="crops")


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
