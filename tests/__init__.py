"""Unit, integration and end-to-end tests; the scenarios they share are in tests.scenarios."""

import pytest

# The shared scenarios assert as tests do: rewrite them so that a failure shows the values.
pytest.register_assert_rewrite("tests.scenarios")
