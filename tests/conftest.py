"""Test configuration: hypothesis runs derandomized, so a failure reproduces everywhere."""
from hypothesis import settings

settings.register_profile("bpcourse", derandomize=True, database=None, deadline=None)
settings.load_profile("bpcourse")
