"""A python check that tells everything it was given (as a careless check would)."""


def show(token: str, key: str) -> dict[str, object]:
    return {"ok": True, "detail": f"token {token!r} key {key!r}", "observed": {"token": token, "key": key}}
