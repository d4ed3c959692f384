"""The OpenStack REST dialect: connexion APIs, handlers, JSON views, faults."""
