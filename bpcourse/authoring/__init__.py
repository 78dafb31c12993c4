"""Authoring tools for instructors and maintainers (never imported by the maths)."""
