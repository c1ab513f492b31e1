"""Test support: the pytest plugin with fixtures for real PostgreSQL, Redis and Kafka."""
