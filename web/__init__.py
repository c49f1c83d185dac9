"""The web app: `create_app(settings)` (or a built runtime) builds it; blueprints per area."""

from __future__ import annotations

from flask import Flask, Response
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from nurture.app.composition import build
from nurture.app.runtime import Runtime
from nurture.config import PROJECT_ROOT, Settings
from web.account import bp as account_bp
from web.api import bp as api_bp
from web.api_docs import bp as api_docs_bp
from web.api_tokens import bp as api_tokens_bp
from web.api_v1 import bp as api_v1_bp
from web.auth import init_app as init_auth
from web.broadcasts import bp as broadcasts_bp
from web.contact_bulk import bp as contact_bulk_bp
from web.contacts import bp as contacts_bp
from web.dashboard import bp as dashboard_bp
from web.deliverability import bp as deliverability_bp
from web.email_links import bp as email_links_bp
from web.email_links import unsubscribe
from web.email_templates import bp as email_templates_bp
from web.errors import init_app as init_errors
from web.i18n import init_app as init_i18n
from web.imports import bp as imports_bp
from web.inbound import bp as inbound_bp
from web.inputs import init_app as init_inputs
from web.insights import bp as insights_bp
from web.journey_editor import bp as journey_editor_bp
from web.journeys import bp as journeys_bp
from web.landing import bp as landing_bp
from web.navigation import init_app as init_navigation
from web.nps import bp as nps_bp
from web.nps_report import bp as nps_report_bp
from web.problems import init_app as init_problems
from web.referral import bp as referral_bp
from web.sales import bp as sales_bp
from web.segments import bp as segments_bp
from web.trials import bp as trials_bp
from web.visits import bp as visits_bp
from web.webhooks import bp as webhooks_bp


def create_app(config: Settings | Runtime | None = None) -> Flask:
    """The app for these settings (default: from the environment), or for a runtime that is
    already built (tests, `nurture run`)."""
    runtime = config if isinstance(config, Runtime) else build(config or Settings.from_env())
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates" / "web"))
    app.config.update(
        SECRET_KEY=runtime.settings.secret_key,
        SESSION_COOKIE_SECURE=runtime.settings.base_url.startswith("https"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session cookie
        MAX_CONTENT_LENGTH=1024 * 1024,  # no form or API call needs more: 413 beyond
    )
    app.extensions["nurture"] = runtime
    hops = runtime.settings.trusted_proxies
    if hops:  # the client's address, scheme and host as the proxies saw them
        # Flask's documented way to wrap the WSGI app, which mypy reads as replacing a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    init_inputs(app)  # before any blueprint: its `int` converter and checks hold for all
    init_problems(app)
    init_errors(app, runtime.settings.web.lock_wait)
    init_i18n(app, runtime.settings.var_dir)
    # Public pages (landing, unsubscribe, NPS) show the sender's name; only signed-in staff
    # get the link to the console, which would send a prospect to the sign-in page.
    app.context_processor(lambda: {"company_name": runtime.settings.company_name})

    csrf = CSRFProtect(app)
    csrf.exempt(api_bp)  # bearer-key JSON API, no cookies
    csrf.exempt(api_v1_bp)
    # RFC 8058: mail providers POST `List-Unsubscribe=One-Click` with no session; the signed
    # token in the URL is the authority, as it is for the link in the email.
    csrf.exempt(unsubscribe)
    csrf.exempt(visits_bp)  # browsers of the customer's site, with a signed visitor id
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_v1_bp)
    app.register_blueprint(api_docs_bp)  # the document and the reference page
    app.register_blueprint(email_links_bp)
    app.register_blueprint(visits_bp)
    for blueprint in (landing_bp, trials_bp, nps_bp):
        app.register_blueprint(blueprint)
    init_auth(app)
    init_navigation(app)
    app.register_blueprint(account_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(sales_bp)
    app.register_blueprint(referral_bp)
    app.register_blueprint(contacts_bp)
    app.register_blueprint(contact_bulk_bp)
    app.register_blueprint(segments_bp)
    app.register_blueprint(broadcasts_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(insights_bp)
    app.register_blueprint(nps_report_bp)
    app.register_blueprint(deliverability_bp)
    app.register_blueprint(email_templates_bp)
    app.register_blueprint(inbound_bp)
    app.register_blueprint(journey_editor_bp)
    app.register_blueprint(journeys_bp)
    app.register_blueprint(webhooks_bp)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; "
                                    "style-src 'self' 'unsafe-inline'; frame-ancestors 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
