"""The operations the connexion peer apps serve: the same trivial answer from
a plain function (run in a worker thread, like Nimbus's handlers) and from a
coroutine (run on the event loop)."""

PONG = {"status": "ok"}


def ping():
    return PONG


async def ping_async():
    return PONG
