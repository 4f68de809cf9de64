"""The built-in plugins, installed as ``survey_plugins``; each registers through the ``survey_app.plugins`` entry-point group like any third-party plugin."""
