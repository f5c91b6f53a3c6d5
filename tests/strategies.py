"""Hypothesis strategies for the tests that throw junk at the portal: characters and words
that have broken web apps before (NUL bytes, direction marks, other scripts' digits,
markup, template and SQL syntax, impossible dates, very long strings), and forms made of
them."""

from hypothesis import strategies as st

ODD_CHARS = ["\x00", "\x01", "\x7f", "\u200e", "\u200f", "\u202e", "\u2066", "\u200b", "\ufeff", "\u0301",
             "\u00a0", "\u3000", "\r", "\n", "\t", "\x0b", "\x1c", "😀", "ß", "İ", "ǅ", "\U0010fffd",
             "١", "٣", "１", "９", "²", "%", "&", "=", "+", ";", "#", "?", "/", "\\", '"', "'", "<", ">"]
ODD_WORDS = ["\x00" * 8, "👩🏽‍💻", "🇮🇩", "\u200f\u200eعربي", "%00", "%zz", "&nip=1", "<script>alert(1)</script>",
             '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}", "' OR 1=1 --", "../../etc/passwd", "..",
             "null", "undefined", "true", "[]", "{}", "-1", "0", "1e309", "NaN", "9" * 40, "١٢٣٤٥٦", "１２３４５６",
             "12 34 56", "١٩٩٠٠١٠١٢٠٢٠٠١١٠٠١", "\u202e10011020201010991", "2026-02-30", "99999-01-01",
             "aktif\n", "admin ", "ktp", "javascript:alert(1)", "//evil.example/", "https://evil.example/"]
# Markup from ODD_WORDS that must never come back unescaped.
INJECTED = ("<script>alert(1)", "<img src=x")

char = st.one_of(st.characters(codec="utf-8"), st.sampled_from(ODD_CHARS))
short_text = st.text(alphabet=char, max_size=40)
long_text = st.text(alphabet=char, min_size=1, max_size=4).map(lambda s: (s * 10_000)[:10_000])
junk = st.one_of(
    short_text,
    st.sampled_from(ODD_WORDS),
    st.lists(st.one_of(short_text, st.sampled_from(ODD_WORDS)), min_size=2, max_size=4).map("".join),
    long_text,
)
digits6 = st.text(alphabet="0123456789", min_size=6, max_size=6)
field_name = st.text(alphabet=st.characters(categories=["L", "N"]) | st.sampled_from("_-[]."),
                     min_size=1, max_size=12)


def form(**fields):
    """A form with each named field missing, sent once or sent two or three times, plus
    a few stray fields. Values are lists: the first one is the one the app reads."""
    known = st.fixed_dictionaries({
        name: st.one_of(st.none(), value.map(lambda v: [v]), st.lists(value, min_size=2, max_size=3))
        for name, value in fields.items()})
    stray = st.dictionaries(field_name.filter(lambda n: n not in fields and n != "csrf_token"),
                            st.lists(short_text, min_size=1, max_size=2), max_size=3)
    return st.tuples(known, stray).map(
        lambda pair: {**pair[1], **{k: v for k, v in pair[0].items() if v is not None}})
