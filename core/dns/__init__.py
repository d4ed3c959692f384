"""The DNS responder: EC2's DNS aliases and server names resolve for real.

``python -m core.dns`` (or the all-in-one API process with ``NIMBUS_RUN_DNS``)
answers A and PTR queries over UDP and TCP, read-only from the live database:

- ``ip-10-0-0-5.<region>.compute.internal`` — a fixed address held by a live instance;
- ``ec2-203-0-113-25.<ec2_public_domain>`` — a floating address associated with one;
- ``<server hostname>.<project>.<dns_domain>`` — a live server's fixed addresses;
- ``5.0.0.10.in-addr.arpa`` — back to the private (or public) alias.

``names`` derives and parses the names, ``records`` reads the database, ``zone``
decides each answer and ``server`` speaks the wire protocol (dnspython's message
classes) on sockets.
"""
