"""Local stand-ins for external services (fake AI APIs), for tests and demos."""
