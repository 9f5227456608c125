"""How the main window opens the wizard and the Models dialog, and what it does when models change."""

from __future__ import annotations

from typing import Optional

from .models_dialog import ModelsDialog
from .wizard import TrainingWizard


def models_changed(window) -> None:
    """Another model is active (or the list changed): reload codes, numbers and results."""
    window.codes_generation += 1  # the searcher reloads the codes at the next query
    window.refresh_overview(then=lambda _overview: window.run_query())


def open_training_wizard(window, overrides: Optional[dict] = None, default_epochs: Optional[int] = None) -> TrainingWizard:
    """Show the wizard; while a run is going (or waiting to be looked at) the same one comes back."""
    wizard: Optional[TrainingWizard] = getattr(window, "training_wizard", None)
    # Keep the wizard while it runs, or while its trained model waits to be evaluated and activated.
    session = wizard.session if wizard is not None else None
    keep = wizard is not None and (
        wizard.isVisible() or (session is not None and (session.running or (session.state == "ok" and not wizard.activate_page.activated)))
    )
    if not keep:
        if wizard is not None:
            wizard.deleteLater()
        wizard = TrainingWizard(window.runner, window, overrides=overrides, default_epochs=default_epochs)
        wizard.model_activated.connect(lambda _id: models_changed(window))
        wizard.training_started.connect(lambda session: _follow(window, session))
        window.training_wizard = wizard
    wizard.show()
    wizard.raise_()
    wizard.activateWindow()
    return wizard


def _follow(window, session) -> None:
    """Say in the status bar how a run ended when the wizard is not looking."""

    def ended(state: str) -> None:
        wizard = getattr(window, "training_wizard", None)
        hidden = wizard is None or not wizard.isVisible()
        if state == "ok":
            window.status.say("Training finished." + (" Open Models → Train a model… to evaluate and activate it." if hidden else ""), 15000)
        elif state == "failed":
            window.status.say(session.error, 15000)
        else:
            window.status.say("Training cancelled: the current model stays active.", 10000)

    session.ended.connect(ended)


def open_models(window) -> ModelsDialog:
    dialog = ModelsDialog(window.runner, window)
    dialog.models_changed.connect(lambda: models_changed(window))
    dialog.open()
    window.models_dialog = dialog
    return dialog
