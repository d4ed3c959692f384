"""Running the topology: supervisord (stack), systemd units, provisioning."""
