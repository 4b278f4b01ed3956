"""A real, local OpenID Connect provider for the tests, built from django-oauth-toolkit.

It is a separate tiny Django project (`settings`, `urls`, `validator`), set up with the
`setup` module and run as its own process by the `oidc_provider` fixture in `fixtures`.
"""
