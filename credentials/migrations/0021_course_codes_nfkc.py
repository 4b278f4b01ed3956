"""Course codes in their NFKC form, as rosters now compare them (fullwidth letters are the
same code): a stored code written otherwise is rewritten, unless another course already has
the rewritten code (in any letter case), which staff then settle in the admin (it is printed).
Going back leaves the codes as they are."""

import unicodedata

from django.db import migrations


def normalise(apps, schema_editor):
    Course = apps.get_model("credentials", "Course")
    taken = {code.upper() for code in Course.objects.values_list("code", flat=True)}
    for course in Course.objects.only("pk", "code").order_by("pk"):
        code = unicodedata.normalize("NFKC", course.code)
        if code == course.code:
            continue
        if code.upper() in taken:
            print(f"\n  Course {course.code!r} not renamed: {code!r} exists (settle it in the admin)")
            continue
        taken.add(code.upper())
        Course.objects.filter(pk=course.pk).update(code=code)


class Migration(migrations.Migration):
    dependencies = [("credentials", "0020_organisation_member_domains")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
