"""The faces finalised registers confirm, that pupils' galleries grow from (facenet-server's
migration 7). Registers finalised before confirm none."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("facenet_attendance", "0005_sharpness"),
    ]

    operations = [
        migrations.CreateModel(
            name="RegisterFace",
            fields=[
                (
                    "crop",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="confirmed",
                        serialize=False,
                        to="facenet_attendance.facecrop",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="gallery", to="facenet_attendance.person"
                    ),
                ),
                (
                    "register",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="faces", to="facenet_attendance.storedregister"
                    ),
                ),
            ],
        ),
    ]
