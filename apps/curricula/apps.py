from django.apps import AppConfig


class CurriculaConfig(AppConfig):
    name = "apps.curricula"
    label = "curricula"
