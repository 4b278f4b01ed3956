# The provider fixture for this folder's own test. Once tests/conftest.py imports it for the whole
# suite, drop this import (two imports at different levels make two session providers).
from tests.oidc_provider.fixtures import oidc_provider  # noqa: F401
