"""Package data: the seed tag-page dumps ``tagfeed init --seeds`` copies (the same bytes as the
checkout's ``seeds/``; tests/test_init.py holds the two equal)."""
