"""The controller's domain services. Knows nothing about HTTP, JSON or XML."""
