"""What instances are placed on: compute nodes, their allocations, and the
atomic claims that take and give back room on a node (what Nova's placement
service does, in our own database). Compute, the scheduler and the conductor
all use it; it imports no domain."""
