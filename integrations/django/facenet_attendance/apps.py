from django.apps import AppConfig


class FacenetAttendanceConfig(AppConfig):
    name = "facenet_attendance"
    verbose_name = "facenet-wasm attendance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Fail at start, not on the first request: the token and the model manifest.
        from . import contract

        contract.settings_check()
