"""EC2 tags on objects of every kind: the rules (``rules``) and the service that
reads and writes them across compute, image and network (``service``)."""
