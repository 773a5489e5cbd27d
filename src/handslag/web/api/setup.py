"""First-start set-up: load statistics from SCB's services for chosen municipalities, with progress.

``GET /installera`` is a small page (no login needed while the database has no areas; admins only
afterwards) where a user picks municipalities; ``POST /api/v1/setup/fetch`` starts a background job and
``GET /api/v1/setup/status`` reports its progress. The job uses the same code as
``handslag data fetch scb`` (:func:`handslag.sources.pxweb.fetch_scb_observations`).
"""

from __future__ import annotations

import html
import threading
from dataclasses import asdict, dataclass, field

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from handslag.areas.regions import kommun_name, kommuner
from handslag.ingest import database_is_empty, store_observations

router = APIRouter(tags=["setup"])

DEFAULT_TABLES = ["TAB6574", "TAB6680", "TAB6685", "TAB6571"]


@dataclass
class SetupJob:
    state: str = "idle"  # idle, running, done, failed
    done: int = 0
    total: int = 0
    current: str = ""
    stored: int = 0
    errors: list[str] = field(default_factory=list)


class FetchRequest(BaseModel):
    kommuner: list[str] = Field(..., min_length=1, max_length=20)
    years: list[int] = Field(default_factory=lambda: [2020, 2021, 2022, 2023, 2024], max_length=15)
    tables: list[str] = Field(default_factory=lambda: list(DEFAULT_TABLES), max_length=10)


def _job(request: Request) -> SetupJob:
    state = request.app.state
    if not hasattr(state, "setup_job"):
        state.setup_job = SetupJob()
    return state.setup_job


def _allowed(request: Request) -> None:
    """Open while the database is empty (first start); afterwards only for administrators."""
    if database_is_empty(request.app.state.db):
        return
    user = getattr(request.state, "user", None)
    if getattr(user, "role", None) != "admin":
        raise HTTPException(403, "set-up is only open on an empty database, or to administrators")


def _run(app_state, job: SetupJob, req: FetchRequest) -> None:
    from handslag.config import get_settings
    from handslag.sources.pxweb import fetch_scb_observations

    options = get_settings().scb_options  # read now: the environment may have changed since start-up
    job.total = len(req.kommuner)
    try:
        for i, code in enumerate(req.kommuner):
            job.current = f"{code} {kommun_name(code) or ''}".strip()
            try:
                frame = fetch_scb_observations(req.tables, code, req.years, app_state.settings.cache_dir, **options)
                if len(frame):
                    result = store_observations(app_state.db, frame, kind="scb",
                                                source=f"SCB {','.join(req.tables)} region {code} (set-up)")
                    job.stored += int(result.counts.get("observations", 0))
            except Exception as exc:  # the job reports every failure and goes on with the next kommun
                job.errors.append(f"{code}: {type(exc).__name__}: {exc}")
            job.done = i + 1
        job.state = "failed" if job.errors and not job.stored else "done"
    finally:
        job.current = ""


@router.post("/setup/fetch", status_code=202, summary="Start loading SCB statistics for municipalities")
def start_fetch(request: Request, body: FetchRequest) -> dict:
    _allowed(request)
    unknown = [k for k in body.kommuner if kommun_name(k) is None]
    if unknown:
        raise HTTPException(422, f"unknown municipality codes: {', '.join(unknown)}")
    job = _job(request)
    if job.state == "running":
        raise HTTPException(409, "a set-up job is already running")
    new = SetupJob(state="running")
    request.app.state.setup_job = new
    threading.Thread(target=_run, args=(request.app.state, new, body), daemon=True).start()
    return asdict(new)


@router.get("/setup/status", summary="Progress of the set-up job")
def status(request: Request) -> dict:
    return asdict(_job(request))


@router.get("/installera", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request) -> HTMLResponse:
    """Plain, dependency-free set-up page (Swedish). Mounted under /api/v1 by the app; linked from the start page."""
    _allowed(request)
    options = "\n".join(f'<option value="{html.escape(c)}">{html.escape(n)} ({c})</option>'
                        for c, n in zip(kommuner()["code"], kommuner()["name"], strict=True))
    return HTMLResponse(f"""<!doctype html><html lang="sv"><head><meta charset="utf-8">
<title>Handslag – läs in data</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem">
<h1>Läs in statistik från SCB</h1>
<p>Databasen är tom. Välj en eller flera kommuner; Handslag hämtar befolkning, sysselsättning, låg ekonomisk
standard och utländsk bakgrund per DeSO från SCB:s öppna API (kräver nätverk). Utan nätverk: kör
<code>handslag data import-snapshot MAPP</code> eller starta med <code>--data-dir MAPP</code>.</p>
<form id="f"><label for="k">Kommuner</label><br>
<select id="k" name="kommuner" multiple size="12" style="min-width:20rem">{options}</select><br>
<button type="submit">Hämta</button></form>
<p id="status" role="status" aria-live="polite"></p>
<script>
const f=document.getElementById('f'), s=document.getElementById('status');
async function poll(){{const r=await fetch('setup/status');const j=await r.json();
 s.textContent=`${{j.state}}: ${{j.done}}/${{j.total}} kommuner ${{j.current}} – ${{j.stored}} värden sparade`+
 (j.errors.length?` – fel: ${{j.errors.join('; ')}}`:'');
 if(j.state==='running')setTimeout(poll,1000);}}
f.addEventListener('submit',async e=>{{e.preventDefault();
 const k=[...document.getElementById('k').selectedOptions].map(o=>o.value);
 const r=await fetch('setup/fetch',{{method:'POST',headers:{{'Content-Type':'application/json'}},
   body:JSON.stringify({{kommuner:k}})}});
 if(!r.ok){{s.textContent=(await r.json()).error.message;return;}} poll();}});
</script></body></html>""")
