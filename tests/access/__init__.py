"""Access control: every route against every role, and no leak of restricted data."""
