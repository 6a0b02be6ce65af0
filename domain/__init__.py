"""The business of continuing education, in plain Python: no I/O, no framework, no text."""
