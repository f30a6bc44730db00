"""nextbest: the Python client of the nextbest personalization service.

    from nextbest import Client
    nb = Client("127.0.0.1:50051", token=open("data/admin_token").read().strip())
    answer = nb.recommend("c1", "homepage.speciaal_voor_jou", count=5)

The generated messages and stubs are in nextbest.v1 (``*_pb2``, ``*_pb2_grpc``).
"""
from nextbest.client import Client, NextbestError, OrderLine

__all__ = ["Client", "NextbestError", "OrderLine"]
