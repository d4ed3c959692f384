"""Benchmarks, reported as ratios against a peer measured in the same run.

``python -m bench.identity`` (``make bench``): token issue and validation rates
of the Identity API against a bare connexion endpoint, and the serving-stack
alternatives for a trivial endpoint against bare Flask.
"""
