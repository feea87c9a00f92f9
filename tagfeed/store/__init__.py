"""The store: SQLite and PostgreSQL backends and every table tagfeed keeps between builds."""
