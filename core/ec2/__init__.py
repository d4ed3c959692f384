"""What the EC2 dialect needs from the controller beyond the shared services:
the stable EC2 IDs (``i-…``, ``ami-…``, ``key-…``) of OpenStack objects.

Nothing here knows about XML or HTTP; ``gateway/ec2`` does.
"""
