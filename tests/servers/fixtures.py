"""Session and per-test fixtures for PostgreSQL, RabbitMQ and the Docker engine."""
