"""Numbers and lists as words, for narration that reads well aloud."""

from __future__ import annotations

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number(n: int) -> str:
    """0..999 as English words: 42 -> "forty-two"."""
    if n < 0 or n > 999:
        return str(n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number(rest)}" if rest else "")


def count(n: int) -> str:
    """A count said on its own, capitalised: 3 -> "Three."."""
    return number(n).capitalize() + "."


def plural(n: int, singular: str, many: str | None = None) -> str:
    """3, "breath" -> "three breaths"; 1 -> "one breath"; 0 -> "no breaths"."""
    return f"{number(n) if n else 'no'} {singular if n == 1 else (many or singular + 's')}"


def joined(items: list[str], last: str = "and") -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def minutes(seconds: float) -> str:
    """A duration rounded for speech: "less than a minute", "a minute", "six minutes"."""
    whole = round(seconds / 60)
    if seconds < 45:
        return "less than a minute"
    if whole <= 1:
        return "a minute"
    return f"{number(whole)} minutes"


def about_minutes(seconds: float) -> str:
    """An estimate for speech: "less than a minute", "about a minute", "about six minutes"."""
    rounded = minutes(seconds)
    return rounded if seconds < 45 else f"about {rounded}"
