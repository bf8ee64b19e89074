"""The one call every screen starts with: page config, database, and the sign-in guard.

Streamlit runs a file in `pages/` directly on a direct link, without running
`Home.py` first, so each page calls `setup_page` before anything else: page
config, the database (migrated, once per process), then the guard. While the
database cannot be reached, every screen, the sign-in and the start itself show
one message and a Retry button instead (`ledgerline_ui.shell.outage`). Until
someone is signed in, the guard renders the sign-in form and nothing else,
then stops the script; a page never gets to run its queries for a visitor.

Sign-in:
- with an `[auth]` section in `.streamlit/secrets.toml`, Streamlit's OpenID
  Connect sign-in (`st.login()`); the identity provider vouches for the email,
  and the role comes from the active `users` row with that email (no row, no
  entry);
- otherwise local accounts (`db.users.authenticate`: argon2 hashes, wrong
  passwords slowed down per client and, briefly, per email). The client is the
  address Streamlit's server saw (`st.context.ip_address`): behind a reverse
  proxy, the proxy must forward it (docs/deployment.md), or every visitor
  counts as one client.

While the database has no user at all (a first start without `LEDGERLINE_DEMO=1`)
the guard shows, instead of a sign-in form nobody could use, the command that
creates the first finance user.

A sign-in is a server-side session (`db.web_sessions`) whose random token the browser keeps
in an HttpOnly cookie (`ledgerline_ui.shell.session_cookie`), so a reload or a link typed into the
address bar, which start a new Streamlit session, sign straight back in (with SSO,
Streamlit's own identity cookie does that instead). After `LEDGERLINE_IDLE_MINUTES`
(default 30) without any interaction the next interaction signs out and says why. Every
run also re-reads the session with the user's row (one indexed query): a session signed
out in another tab, or a user deactivated or whose role changed (a trigger deletes their
sessions), is signed out at the next interaction. A
download's data is built when the button is clicked, outside any run of the
page: `for_live_session` checks the sign-in again right then.

What a role may do is `billing_core.access`; screens hide what the signed-in
role cannot do (`can`), and the operations refuse anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from billing_core.access import (
    ROLE_LABELS,
    Actor,
    Permission,
    PermissionDenied,
    is_allowed,
    require,
)
from db.database import ensure_ready, make_sessionmaker
from db.demo_data import demo_data_requested, load_demo_data
from db.jobs import start_background_worker
from db.users import SignInRefused, active_actor_for_email, any_user_exists, authenticate
from db.web_sessions import (
    HANDOFF_SECONDS,
    end_web_session,
    signed_in_by_id,
    signed_in_by_token,
    start_web_session,
)
from ledgerline_ui.shell import session_cookie
from ledgerline_ui.shell.feedback import run_action
from ledgerline_ui.shell.idle_limit import idle_limit_seconds
from ledgerline_ui.shell.outage import ScreenSession, keep_message_slot
from ledgerline_ui.tables.plain_text import escape_markdown

ACTOR_KEY = "ledgerline_actor"
LAST_ACTIVITY_KEY = "ledgerline_last_activity"
SIGNED_OUT_REASON_KEY = "ledgerline_signed_out_reason"
WEB_SESSION_KEY = "ledgerline_web_session"
HANDOFF_KEY = "ledgerline_handoff"
FORGET_COOKIE_KEY = "ledgerline_forget_cookie"
ACCOUNT_CHANGED = "Your account was deactivated or its role changed; sign in again."
ENDED_ELSEWHERE = "This sign-in was ended (signed out in another tab); sign in again."
FIRST_USER_COMMAND = (".venv/bin/python -m db.users create --email you@example.com "
                      '--name "Your name" --role finance')

T = TypeVar("T")

_HIDE_NAVIGATION = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stSidebarNav"] {display: none;}
</style>"""

_WHOLE_FIGURES = """<style>
[data-testid="stMetric"] .stMarkdownEllipsis, [data-testid="stMetric"] .stMarkdownEllipsis p {
    white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
}
</style>"""
"""Figures (`st.metric`) wrap instead of ending in an ellipsis: Streamlit cuts a value wider
than its column, and "$134,49…" on a laptop screen hid a total's cents and thousands. The
amounts' size (`.streamlit/config.toml`, metricValueFontSize) keeps each on one line at
1,280 px; in a narrower column an amount (or two currencies) wraps, and is still read whole."""


@st.cache_resource(show_spinner="Starting the database…")
def _sessions() -> sessionmaker[Session]:
    # A start that fails (the server is down) raises, and Streamlit caches no error: the
    # next run starts again.
    engine = ensure_ready()
    if demo_data_requested():
        load_demo_data(engine)
    # Month end runs in this process's job worker, never in a page's script (STYLE 14).
    start_background_worker(engine.url)
    # A sessionmaker (never a Session) is safe to share across reruns and users.
    return make_sessionmaker(engine, ScreenSession)


def setup_page(title: str, icon: str,
               permission: Permission = Permission.VIEW_BILLING) -> sessionmaker[Session]:
    """Configure the page, make sure someone allowed to see it is signed in, and return the
    session factory the page works with. Otherwise shows the sign-in form (or why the role may
    not open this screen) and stops the script."""
    st.set_page_config(page_title=f"{title} · Ledgerline", page_icon=icon, layout="wide")
    keep_message_slot()
    started, sessions = run_action(_sessions)
    if not started:
        st.stop()
    actor = _signed_in_actor(sessions)
    if actor is None:
        _sign_in_screen(sessions)
        st.stop()
    _sidebar(actor)
    st.html(_WHOLE_FIGURES)
    if not is_allowed(actor, permission):
        st.title(title)
        st.warning(f"{escape_markdown(str(PermissionDenied(actor, permission)))}. Ask finance "
                   "if you need this screen.",
                   icon=":material/lock:")
        st.stop()
    return sessions


def current_actor() -> Actor:
    """The signed-in user, as the operations and the audit log see them."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        raise PermissionDenied(None, None, "make changes")
    return actor


def can(permission: Permission) -> bool:
    """Whether the signed-in user's role may do `permission` (for hiding what it may not)."""
    return is_allowed(st.session_state.get(ACTOR_KEY), permission)


def sign_out(reason: str | None = None) -> None:
    """End the sign-in: its server-side session too, so its cookie names nothing any more."""
    for key in (ACTOR_KEY, LAST_ACTIVITY_KEY, HANDOFF_KEY):
        st.session_state.pop(key, None)
    session_id = st.session_state.pop(WEB_SESSION_KEY, None)
    if isinstance(session_id, int):
        with _sessions().begin() as session:
            end_web_session(session, session_id)
        st.session_state[FORGET_COOKIE_KEY] = True
    if reason:
        st.session_state[SIGNED_OUT_REASON_KEY] = reason
    if _sso_configured() and _sso_signed_in():
        st.logout()


def _signed_in_actor(sessions: sessionmaker[Session]) -> Actor | None:
    actor = st.session_state.get(ACTOR_KEY)
    now = time.time()
    if isinstance(actor, Actor):
        lapsed = _sign_in_lapse(sessions, actor, st.session_state.get(LAST_ACTIVITY_KEY, now),
                                now, st.session_state.get(WEB_SESSION_KEY))
        if lapsed:
            sign_out(lapsed)
            return None
        st.session_state[LAST_ACTIVITY_KEY] = now
        return actor
    if _sso_configured() and _sso_signed_in():
        with sessions() as session:
            actor = active_actor_for_email(session, st.user.email or "")
        if actor is not None:
            _remember(actor)
            return actor
    elif token := session_cookie.cookie_token():
        # A reload or a typed link: a new Streamlit session, the same browser's sign-in.
        with sessions.begin() as session:
            signed_in = signed_in_by_token(session, token, idle_limit_seconds())
        if signed_in is not None:
            _remember(signed_in.actor, signed_in.session_id)
            return signed_in.actor
    return None


def _sign_in_lapse(sessions: sessionmaker[Session], actor: Actor, last_activity: float,
                   now: float, session_id: int | None) -> str | None:
    """Why `actor`'s sign-in (server-side session `session_id`; None with SSO), last active
    at `last_activity`, no longer holds at `now` (the sentence the sign-in form then shows),
    or None while it holds."""
    limit = idle_limit_seconds()
    if now - last_activity > limit:
        return (f"You were signed out after {limit // 60} minutes without activity. "
                "Sign in again to continue.")
    # The operations trust actor.role: check the row still says so on every run.
    with sessions.begin() as session:
        if isinstance(session_id, int):
            signed_in = signed_in_by_id(session, session_id, limit)
            if signed_in is not None and signed_in.actor == actor:
                return None
        current = active_actor_for_email(session, actor.user_id)
    if current != actor:
        return ACCOUNT_CHANGED
    return ENDED_ELSEWHERE if isinstance(session_id, int) else None


class SignInLapsed(PermissionDenied):
    """A sign-in checked again after its run (a download's data is built on click) no longer
    holds; `reason` says why, as the sign-in form will."""

    def __init__(self, actor: Actor, permission: Permission, reason: str) -> None:
        super().__init__(actor, permission, f"{permission.value} any more: {reason}")
        self.reason = reason


def for_live_session(build: Callable[[], T],
                     permission: Permission = Permission.VIEW_BILLING) -> Callable[[], T]:
    """`build`, made to run only while this run's sign-in still holds: every download's `data`.

    Streamlit calls a download's data function when the button is clicked, on a worker thread,
    without running the page: the guard at the top of the page does not run then, and
    `st.session_state` there is not this user's. So who is signed in, and when they were last
    active (this run), are taken now; on the click the sign-in is checked as the next run would
    check it (idle limit, the users row, the role's permission), and `build` runs only if it
    holds. Otherwise SignInLapsed: Streamlit serves no file (the button says the download
    failed), and the user's next interaction signs out and says why.

    Give such a button `on_click="ignore"`: a run that starts while Streamlit answers the
    download request throws the unsent answer away (Streamlit 1.67 clears a session's message
    queue when a run starts), and the file then never comes."""
    sessions = _sessions()
    actor = current_actor()
    last_activity = st.session_state.get(LAST_ACTIVITY_KEY, time.time())
    session_id = st.session_state.get(WEB_SESSION_KEY)

    def build_for_live_session() -> T:
        lapsed = _sign_in_lapse(sessions, actor, last_activity, time.time(), session_id)
        if lapsed:
            raise SignInLapsed(actor, permission, lapsed)
        require(actor, permission)
        return build()

    return build_for_live_session


def _remember(actor: Actor, session_id: int | None = None) -> None:
    st.session_state[ACTOR_KEY] = actor
    st.session_state[LAST_ACTIVITY_KEY] = time.time()
    st.session_state.pop(SIGNED_OUT_REASON_KEY, None)
    if session_id is not None:
        st.session_state[WEB_SESSION_KEY] = session_id


def _start_web_session(sessions: sessionmaker[Session], actor: Actor) -> None:
    """Remember a form sign-in on the server; the browser gets its cookie on the next run
    (`_keep_cookie`)."""
    with sessions.begin() as session:
        session_id, handoff = start_web_session(session, actor)
    _remember(actor, session_id)
    st.session_state[HANDOFF_KEY] = (handoff, time.time())


def _keep_cookie() -> None:
    """The invisible image that gives the browser its cookie after a sign-in (for the
    handoff's minute, so a quick second run cannot cut the request short), then keeps it
    fresh while the person works."""
    handoff, started = st.session_state.get(HANDOFF_KEY) or ("", 0.0)
    if handoff and time.time() - started < HANDOFF_SECONDS:
        session_cookie.hand_off(handoff)
        return
    st.session_state.pop(HANDOFF_KEY, None)
    if isinstance(st.session_state.get(WEB_SESSION_KEY), int):
        session_cookie.keep_fresh()


def _sign_in_screen(sessions: sessionmaker[Session]) -> None:
    """The sign-in form and nothing else (no navigation either)."""
    st.html(_HIDE_NAVIGATION)
    if st.session_state.pop(FORGET_COOKIE_KEY, False) or session_cookie.cookie_token():
        session_cookie.forget()  # signed out, or the cookie names a session that is over
    with sessions() as session:
        if not any_user_exists(session):
            _first_user_screen()
            return
    st.title("Sign in")
    st.caption("Ledgerline holds every tenant's billing data. Sign in to continue.")
    if reason := st.session_state.get(SIGNED_OUT_REASON_KEY):
        st.info(reason, icon=":material/schedule:")
    if _sso_configured():
        if _sso_signed_in():
            st.error(f"{escape_markdown(str(st.user.email))} has no active Ledgerline account. "
                     "Ask finance to add you (python -m db.users create).",
                     icon=":material/person_off:")
            if st.button("Sign out", key="sso_sign_out"):
                st.logout()
        elif st.button("Sign in with SSO", type="primary", key="sso_sign_in"):
            st.login()
        return
    _password_form(sessions)


def _password_form(sessions: sessionmaker[Session]) -> None:
    with st.form("sign_in"):
        email = st.text_input("Email", key="sign_in_email", autocomplete="username")
        password = st.text_input("Password", type="password", key="sign_in_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            with sessions() as session:
                try:
                    actor = authenticate(session, email, password,
                                         client_address=_client_address())
                finally:
                    session.commit()  # a failure is counted (that is what slows the next guess)
        except SignInRefused as refused:
            st.error(escape_markdown(str(refused)), icon=":material/block:")
        else:
            _start_web_session(sessions, actor)
            st.rerun()


def _client_address() -> str | None:
    """The visitor's IP address as Streamlit's server (uvicorn) saw it: from the
    `X-Forwarded-For` header when the connection comes from a proxy uvicorn trusts
    (`FORWARDED_ALLOW_IPS`, by default 127.0.0.1 and ::1). None for a browser on this
    machine, which Streamlit does not name, and in AppTest."""
    return st.context.ip_address


def _first_user_screen() -> None:
    st.title("No user yet")
    st.markdown("Ledgerline has no user yet, so nobody can sign in. On the machine where it "
                "runs, in the app's folder, create the first finance user (the command asks "
                "for the password twice), then reload this page:")
    st.code(FIRST_USER_COMMAND + (" --sso-only" if _sso_configured() else ""), language="bash")
    st.caption("To look around with demo data and demo accounts instead, start the app with "
               "`LEDGERLINE_DEMO=1`, never where real data lives: the demo password is public.")


def _sidebar(actor: Actor) -> None:
    st.sidebar.caption("Ledgerline · every cent explained")
    st.sidebar.markdown(f"Signed in as **{escape_markdown(actor.user_id)}**  \n"
                        f"{ROLE_LABELS[actor.role]}")
    if st.sidebar.button("Sign out", key="sign_out", icon=":material/logout:"):
        sign_out("You signed out.")
        st.rerun()
    with st.sidebar:
        _keep_cookie()


def _sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _sso_signed_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False
