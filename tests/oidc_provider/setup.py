"""Set up the test OpenID Connect provider without management commands.

    DJANGO_SETTINGS_MODULE=tests.oidc_provider.settings OIDC_PROVIDER_DIR=/some/dir \\
        python -m tests.oidc_provider.setup <command> ...

Commands:
    init                                   create or migrate its database
    client CLIENT_ID CLIENT_SECRET [URI ...]
                                           create (or reset) a confidential client: authorization
                                           code grant, RS256 id_tokens, no consent screen, these
                                           redirect URIs; the secret is stored as given
    redirect CLIENT_ID URI [URI ...]       add redirect URIs to a client
    user EMAIL PASSWORD [--unverified] [--given X] [--family Y]
                                           create or update a user who signs in with EMAIL
"""

import argparse
import os
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.oidc_provider.setup")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init")
    client = commands.add_parser("client")
    client.add_argument("client_id")
    client.add_argument("client_secret")
    client.add_argument("uris", nargs="*")
    redirect = commands.add_parser("redirect")
    redirect.add_argument("client_id")
    redirect.add_argument("uris", nargs="+")
    user = commands.add_parser("user")
    user.add_argument("email")
    user.add_argument("password")
    user.add_argument("--unverified", action="store_true")
    user.add_argument("--given", default="")
    user.add_argument("--family", default="")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    import django

    django.setup()
    {"init": init, "client": add_client, "redirect": add_redirect, "user": add_user}[args.command](
        args
    )


def init(args) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def add_client(args) -> None:
    from oauth2_provider.models import Application

    Application.objects.update_or_create(
        client_id=args.client_id,
        defaults={
            "name": "Certification tracker (tests)",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "algorithm": Application.RS256_ALGORITHM,
            "skip_authorization": True,
            # DOT 3 hashes the secret on save unless told not to; kept as given, the plaintext
            # the caller knows is what the token endpoint compares against.
            "hash_client_secret": False,
            "client_secret": args.client_secret,
            "redirect_uris": " ".join(args.uris),
        },
    )


def add_redirect(args) -> None:
    from oauth2_provider.models import Application

    application = Application.objects.get(client_id=args.client_id)
    uris = application.redirect_uris.split()
    uris += [uri for uri in args.uris if uri not in uris]
    application.redirect_uris = " ".join(uris)
    application.save(update_fields=["redirect_uris", "updated"])


def add_user(args) -> None:
    from django.contrib.auth.models import Group, User

    from tests.oidc_provider.validator import UNVERIFIED_GROUP

    user, _ = User.objects.get_or_create(username=args.email)
    user.email = args.email
    user.first_name = args.given
    user.last_name = args.family
    user.is_active = True
    user.set_password(args.password)
    user.save()
    unverified, _ = Group.objects.get_or_create(name=UNVERIFIED_GROUP)
    if args.unverified:
        user.groups.add(unverified)
    else:
        user.groups.remove(unverified)


if __name__ == "__main__":
    main(sys.argv[1:])
