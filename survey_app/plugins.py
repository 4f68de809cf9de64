"""The plugin manager: one per app, built in the factory.

Built-in plugins (``plugins/`` in the source tree, installed as
``survey_plugins``) and third-party ones are found the same way, through the
setuptools entry-point group ``survey_app.plugins``; the core never imports
them. ``DISABLED_PLUGINS`` blocks any of them by name before it loads.
"""
from __future__ import annotations

import difflib
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass

import logging

import pluggy
from flask import Flask, before_render_template, current_app, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from survey_app import db, hookspecs
from survey_app.contributions import ExportFormat
from survey_app.models import PluginFailure, Response
from survey_app.questionnaire import Problem, Questionnaire

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "survey_app.plugins"


def init_app(app: Flask, extra_plugins: Iterable[object] = ()) -> pluggy.PluginManager:
    """Create ``app``'s plugin manager, load the plugins, and check their hooks exist."""
    manager = pluggy.PluginManager("survey_app")
    manager.add_hookspecs(hookspecs)
    for name in _disabled(app):
        manager.set_blocked(name)
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        manager.register(plugin, name=getattr(plugin, "__name__", None))
    manager.check_pending()  # a misspelt hook name fails at start-up, not mid-request
    app.extensions["survey_app.plugins"] = manager
    app.extensions["survey_app.export_formats"] = _collect_export_formats(manager)
    before_render_template.connect(_add_template_vars, app)
    return manager


class StartupError(RuntimeError):
    """Plugins that cannot work together (e.g. two export formats with one name)."""


def _collect_export_formats(plugin_manager: pluggy.PluginManager) -> dict[str, ExportFormat]:
    formats: dict[str, ExportFormat] = {}
    for found in plugin_manager.hook.register_export_formats():
        for export_format in found or ():
            if export_format.name in formats:
                raise StartupError(f"two plugins register the export format '{export_format.name}'")
            formats[export_format.name] = export_format
    return formats


def export_formats(app: Flask | None = None) -> dict[str, ExportFormat]:
    """Every export format the loaded plugins offer, by name."""
    return (app or current_app).extensions["survey_app.export_formats"]


def _add_template_vars(app: Flask, template, context: dict, **_extra) -> None:
    """Merge what plugins return from ``extra_template_vars`` into a page's context."""
    for found in hook(app).extra_template_vars(template=template.name, request=request):
        context.update(found or {})


def _disabled(app: Flask) -> list[str]:
    setting = app.config.get("DISABLED_PLUGINS", "")
    names = setting.split(",") if isinstance(setting, str) else list(setting)
    return [name.strip() for name in names if name.strip()]


def manager(app: Flask | None = None) -> pluggy.PluginManager:
    """The plugin manager of ``app`` (default: the current app)."""
    return (app or current_app).extensions["survey_app.plugins"]


def hook(app: Flask | None = None) -> pluggy.HookRelay:
    """The hook relay of ``app``: ``hook().response_completed(response=..., ...)``."""
    return manager(app).hook


def questionnaire_checker(app: Flask):
    """A ``check_plugins`` function for the loader: unknown sections, then each plugin's own checks."""
    relay = hook(app)

    def check(questionnaire: Questionnaire) -> list[Problem]:
        # A section of an installed but disabled plugin is accepted (and ignored);
        # one that no installed plugin knows is a mistake, e.g. a typo.
        claimed = {name for names in relay.plugin_sections() for name in names or ()}
        claimed.update(installed_entry_points())
        problems = []
        for section in questionnaire.plugins:
            if section not in claimed:
                guess = difflib.get_close_matches(section, sorted(claimed), n=1)
                hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                problems.append(Problem(f"/plugins/{section}", f"no installed plugin reads the section '{section}'{hint}"))
        for found in relay.validate_questionnaire(questionnaire=questionnaire):
            problems.extend(found or ())
        return problems

    return check


def call_in_savepoints(hook_name: str, session: Session, response: Response, **arguments) -> None:
    """Call every implementation of an event hook about ``response`` inside the caller's
    write transaction, each in its own savepoint.

    A plugin that raises has only its own writes rolled back; the failure is
    recorded as a :class:`PluginFailure` that staff see, and the other plugins
    still run. The caller commits.
    """
    arguments = {**arguments, "response": response, "session": session}
    for implementation in reversed(getattr(hook(), hook_name).get_hookimpls()):
        try:
            with session.begin_nested():
                implementation.function(**{name: arguments[name] for name in implementation.argnames})
        except DBAPIError:
            raise  # the database itself failed (e.g. a lost connection): not the plugin's fault
        except Exception as error:  # a plugin's bug must not reach the respondent
            log.exception("plugin %s failed in %s", implementation.plugin_name, hook_name)
            session.add(PluginFailure(survey_id=response.survey_id, response_id=response.id,
                                      plugin=implementation.plugin_name, hook=hook_name,
                                      message=f"{type(error).__name__}: {error}"[:2000]))


def call_safely(hook_name: str, session: Session, response: Response, **arguments) -> None:
    """:func:`call_in_savepoints` in a transaction of its own, for a response already committed."""
    if not getattr(hook(), hook_name).get_hookimpls():
        return
    db.begin_write(session)
    call_in_savepoints(hook_name, session, response, **arguments)
    session.commit()


@dataclass(frozen=True)
class PluginInfo:
    """What ``survey-app plugins`` and the admin page show about one plugin."""

    name: str
    version: str | None
    source: str
    hooks: tuple[str, ...]


def describe_plugins(app: Flask) -> list[PluginInfo]:
    """Every loaded plugin with its distribution's version, where it came from, and its hooks."""
    plugin_manager = manager(app)
    distributions = {id(plugin): dist for plugin, dist in plugin_manager.list_plugin_distinfo()}
    result = []
    for name, plugin in plugin_manager.list_name_plugin():
        if plugin is None:  # blocked
            continue
        hooks = tuple(sorted(caller.name for caller in plugin_manager.get_hookcallers(plugin) or ()))
        dist = distributions.get(id(plugin))
        source = f"entry point of {dist.metadata['name']}" if dist else "registered by the application"
        result.append(PluginInfo(name, dist.version if dist else None, source, hooks))
    return sorted(result, key=lambda info: info.name)


def installed_entry_points() -> list[str]:
    """Names of every plugin offered through the entry-point group, loaded or not."""
    return sorted(ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
