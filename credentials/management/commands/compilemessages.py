"""`manage.py compilemessages`: the project's translations (LOCALE_PATHS) compiled with Babel,
so a machine without GNU gettext's msgfmt (a fresh laptop, the slim production image) compiles
them too. Replaces Django's own command of that name for this project; fuzzy entries are left
out, as msgfmt does, and an entry whose translation lost or changed a placeholder stops it.
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def compile_catalogs(folders, locales=()) -> tuple[list[Path], list[str]]:
    """Compile every <folder>/<locale>/LC_MESSAGES/*.po next to itself as .mo. Returns the
    files compiled and the problems Babel's checks found ("file: msgid: what")."""
    files = sorted(
        po
        for folder in folders
        for po in Path(folder).glob("*/LC_MESSAGES/*.po")
        if not locales or po.parent.parent.name in locales
    )
    problems = []
    for po in files:
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        for message, errors in catalog.check():
            problems += [f"{po}: {message.id!r}: {error}" for error in errors]
        with po.with_suffix(".mo").open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
    return files, problems


class Command(BaseCommand):
    help = "Compile the project's .po translation files into .mo files (with Babel)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--locale", "-l", action="append", default=[], help="Only these locales (de, pt_BR)."
        )

    def handle(self, *args, locale: list[str], **options):
        files, problems = compile_catalogs(settings.LOCALE_PATHS, locale)
        if not files:
            raise CommandError("No .po files found under LOCALE_PATHS.")
        if problems:
            raise CommandError("\n".join(problems))
        if options["verbosity"]:
            self.stdout.write(f"{len(files)} translation file(s) compiled.")
