"""Languages of the web pages: Swedish (default; the msgids) and English.

- Catalogues are plain ``.po`` files under ``web/locale/<lang>/LC_MESSAGES/messages.po``. Nothing is
  compiled on disk: at first use the ``.po`` is read with :func:`babel.messages.pofile.read_po`, written as a
  ``.mo`` into memory and loaded as a :class:`gettext.GNUTranslations` (fuzzy and empty entries are left
  out, so they fall back to Swedish).
- The language of a request: ``?lang=en|sv`` (also stored in the cookie ``lang``, SameSite=Lax, one year),
  else the cookie, else the best match in ``Accept-Language``, else Swedish. :class:`LanguageMiddleware`
  puts it on ``request.state.lang`` and sets the cookie.
- Templates use ``{% trans %}`` / ``_()`` through Jinja2's ``i18n`` extension (:func:`install_jinja`); the
  callables read the language of the page being rendered from a context variable set by :func:`rendering`.
- Swedish labels that live in Python dictionaries of other modules (status names, roles, messages after a
  form post, error page titles) are listed in :data:`DYNAMIC_MSGIDS` so that extraction finds them; the
  templates translate them with ``_(value)`` (unknown strings come back unchanged).
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "sv"
LANGUAGES: dict[str, str] = {"sv": "Svenska", "en": "English"}
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

_current: ContextVar[str] = ContextVar("handslag_language", default=DEFAULT)


def N_(message: str) -> str:  # noqa: N802 - the usual gettext marker name
    """Mark a string for extraction without translating it here."""
    return message


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of ``lang`` built in memory from its ``.po`` (Swedish: the msgids themselves)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    """``message`` in the language of the page being rendered."""
    if not message:
        return message
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def translate(lang: str, message: str) -> str:
    """``message`` in ``lang`` (for code outside a page render)."""
    return translations(lang if lang in LANGUAGES else DEFAULT).gettext(message) if message else message


@contextmanager
def rendering(lang: str) -> Iterator[None]:
    """Render templates in ``lang`` within the block."""
    token = _current.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def install_jinja(env: Environment) -> None:
    """Add the i18n extension with the request-language callables (old-style gettext, trimmed blocks)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=False)  # type: ignore[attr-defined]


# ---- choosing the language ------------------------------------------------------------------------------

def parse_accept_language(header: str | None) -> str | None:
    """The supported language with the highest quality in an ``Accept-Language`` header."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")[:20]):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, base)
    return best[2] if best else None


def choose_language(request: Request) -> tuple[str, str | None]:
    """(language, language to store in the cookie or ``None``)."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked, asked
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return cookie, None
    return parse_accept_language(request.headers.get("accept-language")) or DEFAULT, None


def request_language(request: Request) -> str:
    lang = getattr(request.state, "lang", None)
    return lang if lang in LANGUAGES else choose_language(request)[0]


class LanguageMiddleware(BaseHTTPMiddleware):
    """``request.state.lang`` for every request; ``?lang=`` also sets the ``lang`` cookie."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        lang, store = choose_language(request)
        request.state.lang = lang
        token = _current.set(lang)
        try:
            response = await call_next(request)
        finally:
            _current.reset(token)
        if store is not None:
            response.set_cookie(COOKIE, store, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https", path="/")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Content-Language"] = lang
            response.headers.setdefault("Vary", "Cookie, Accept-Language")
        return response


def language_urls(request: Request) -> dict[str, str]:
    """The current page in every language (``?lang=`` replaced, other parameters kept)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {code: request.url.path + "?" + urlencode([*kept, ("lang", code)]) for code in LANGUAGES}


# Swedish labels defined in Python modules the templates translate with ``_(value)``.
DYNAMIC_MSGIDS = (
    # web/errors.py PAGE_TITLES and other page titles
    N_("Felaktig begäran"), N_("Inloggning krävs"), N_("Åtkomst nekad"), N_("Hittades inte"),
    N_("Metoden stöds inte"), N_("Konflikt"), N_("Ogiltiga uppgifter"), N_("För många försök"), N_("Fel"),
    # official area types (handslag.classify)
    N_("Områden med stora socioekonomiska utmaningar"), N_("Områden med socioekonomiska utmaningar"),
    N_("Socioekonomiskt blandade områden"), N_("Områden med goda socioekonomiska förutsättningar"),
    N_("Områden med mycket goda socioekonomiska förutsättningar"),
    # Police list levels
    N_("Utsatt område"), N_("Riskområde"), N_("Särskilt utsatt område"),
    # levels (web.pages.LEVEL_SV)
    N_("Kommun"), N_("Län"), N_("Riket"),
    # goal status, verdicts, states (web.pages_goals)
    N_("På väg"), N_("Risk"), N_("Ur kurs"), N_("Inga data"),
    N_("högst 10 % av den planerade förändringen efter den förväntade banan"),
    N_("mellan 10 och 25 % av den planerade förändringen efter banan"),
    N_("mer än 25 % av den planerade förändringen efter banan"), N_("inget godkänt mätvärde ännu"),
    N_("målet nås troligen"), N_("målet kan nås"), N_("målet nås troligen inte"),
    N_("för få mätpunkter för en prognos"), N_("Utkast"), N_("Inskickat"), N_("Godkänt"), N_("Avvisat"),
    # goal kinds, units, measures, shapes, directions
    N_("Följs med statistik"), N_("Rapporteras av parterna"), N_("personer"), N_("företag"), N_("procentenheter"),
    N_("nivå"), N_("förändring sedan basåret"), N_("linjär"), N_("snabb start"), N_("långsam start"), N_("S-kurva"),
    N_("egen bana"), N_("ska öka"), N_("ska minska"),
    # activities, contributions, members, sources, roles
    N_("Planerad"), N_("Pågår"), N_("Avslutad"), N_("Inställd"), N_("Pengar"), N_("Arbetstid"), N_("Naturainsats"),
    N_("Sammankallande"), N_("Part"), N_("Finansiär"), N_("Observatör"), N_("Övrig"), N_("Enkät"),
    N_("Inrapporterat"), N_("administratör"), N_("partnerskapsredaktör"), N_("partnerrapportör"), N_("läsare"),
    # messages after a form post (web.pages_goals.DONE)
    N_("Mätvärdet sparades som utkast. Skicka in det när det är klart för granskning."),
    N_("Mätvärdet skickades in för granskning. En annan person med granskningsbehörighet godkänner det."),
    N_("Mätvärdet drogs tillbaka och är ett utkast igen."),
    N_("Mätvärdet är ett utkast igen och kan skickas in på nytt."),
    N_("Mätvärdet godkändes och räknas nu in i målets status."),
    N_("Mätvärdet avvisades. Den som matade in det ser motiveringen på målsidan."),
    # admin pages (web.pages_admin)
    N_("Administratör"), N_("Partnerskapsredaktör"), N_("Partnerbidragsgivare"), N_("Läsare"),
    N_("allt, även användare och organisationer"),
    N_("partnerskap, mål, godkännande av mätvärden, import av statistik"), N_("läsa mål och rapportera mätvärden"),
    N_("läsa partnerskap och mål"), N_("Allmännyttigt bostadsbolag"), N_("Privat fastighetsägare"), N_("Företag"),
    N_("Kommun/förvaltning"), N_("Civilsamhälle/förening"), N_("Annan"), N_("Klar"), N_("Avvisad"),
    N_("observationer"), N_("Ögonblicksbild"), N_("Statistikfil"), N_("Områden"), N_("områden"), N_("mål uppdaterade"), N_("kopplingar"),
    N_("nya områden"),
    # roster roles (web.pages_area_extra)
    N_("Trygghetsvärdar"), N_("Lokal närvaro"),
)
