"""The volume scheduler (cinder-scheduler): places volumes on storage pools.

Pools are filtered (availability zone, capacity, capabilities) and weighed
(free capacity) from the figures the back ends report; the chosen pool is
claimed atomically in the database, so schedulers share no state and run
active-active without over-subscribing a pool.
"""
