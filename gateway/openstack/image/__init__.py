"""Image v2 (Glance-compatible) handlers, views and streaming."""
