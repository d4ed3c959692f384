"""EC2's VPC family over the network model (issue 11): a VPC is a router, a
subnet a network with its subnet (routed by that router); route tables,
internet gateways, DHCP options sets and the VPCs' own attributes are EC2's
records, kept here."""
