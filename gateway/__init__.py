"""The edge: HTTP, wire formats and dialects. Imports core; core never imports it."""

import warnings

# connexion imports starlette's test client at import time; we do not use it.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
