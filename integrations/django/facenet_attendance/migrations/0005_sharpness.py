"""Each crop's sharpness, kept at upload for the face's quality (facenet-server's migration 6)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("facenet_attendance", "0004_deployment"),
    ]

    operations = [
        migrations.AddField(
            model_name="facecrop",
            name="sharpness",
            field=models.FloatField(null=True),
        ),
    ]
