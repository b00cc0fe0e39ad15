"""greeting — a hot module of the example: an update replaces it while the
app runs (patchcast.reload), keeping the click count."""

TEXT = "Hello from the first release"
clicks = 0


def greet() -> str:
    return f"{TEXT} (clicked {clicks} times)"


def click() -> None:
    global clicks
    clicks += 1


def __patchcast_migrate__(old) -> None:
    """Keep the count across a reload."""
    global clicks
    clicks = getattr(old, "clicks", 0)


def self_check() -> bool:
    return isinstance(greet(), str)
