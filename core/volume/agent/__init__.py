"""The volume agent (cinder-volume) of one storage back end ``host@backend``: it
runs volume operations through a storage driver and reports the results and
its pools' capacity over the bus. It has no database code at all."""
