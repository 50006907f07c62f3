"""Teachers' API keys encrypted at rest (apps/common/secrets.py, docs/security.md).

The column becomes text (a token is longer than the key), every stored plain key is
encrypted with the first key of STUDIO_SECRET_KEYS (or the key derived from SECRET_KEY
where that is unset), then the field becomes the encrypting field. Reversible: going back
decrypts every key into the old 500-character column.
"""

from django.db import migrations, models

import apps.common.secrets


def encrypt_plain_keys(apps, schema_editor):
    from apps.common.secrets import encrypt, is_encrypted

    TeacherConfig = apps.get_model("prompts", "TeacherConfig")
    for pk, value in TeacherConfig.objects.exclude(api_key="").values_list("pk", "api_key"):
        if not is_encrypted(value):
            TeacherConfig.objects.filter(pk=pk).update(api_key=encrypt(value))


def decrypt_keys(apps, schema_editor):
    from apps.common.secrets import decrypt, is_encrypted

    TeacherConfig = apps.get_model("prompts", "TeacherConfig")
    for pk, value in TeacherConfig.objects.exclude(api_key="").values_list("pk", "api_key"):
        if is_encrypted(value):
            TeacherConfig.objects.filter(pk=pk).update(api_key=decrypt(value))


class Migration(migrations.Migration):

    dependencies = [
        ("prompts", "0001_initial"),
    ]

    operations = [
        # plain text column first, so the data step below sees the stored values as they are
        migrations.AlterField(
            model_name="teacherconfig",
            name="api_key",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(encrypt_plain_keys, decrypt_keys, elidable=False),
        migrations.AlterField(
            model_name="teacherconfig",
            name="api_key",
            field=apps.common.secrets.EncryptedTextField(blank=True),
        ),
    ]
